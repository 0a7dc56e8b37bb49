package com.example.bluegreen.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The project's playbooks (ansible/), run with Debian's ansible-core against booted test hosts: an
 * inventory and a vars file written for the run (mode 0600: it holds the run's RabbitMQ credentials),
 * the harness's SSH config.
 */
public final class Ansible {

	private static final Path ANSIBLE_DIR = Path.of("ansible").toAbsolutePath();

	private static final Pattern RECAP = Pattern
		.compile("(?m)^(\\S+)\\s*: ok=(\\d+)\\s+changed=(\\d+)\\s+unreachable=(\\d+)\\s+failed=(\\d+)");

	private final Path inventory;

	private final Path vars;

	private Ansible(Path inventory, Path vars) {
		this.inventory = inventory;
		this.vars = vars;
	}

	/**
	 * Writes into {@code dir} the inventory (a group per key) and the vars every test host gets: installs from
	 * the seeded apt cache, the run's key for the deploy user, APP_HOME /opt/app and PUBLIC_PORT 80 plus
	 * {@code settings}, and the colors' access to the machine's Redis and RabbitMQ.
	 */
	public static Ansible forGroups(Path dir, BootedHosts hosts, Map<String, List<BootedHosts.Host>> groups,
			Map<String, String> settings) {
		Map<String, String> env = hosts.environment();
		StringBuilder extra = new StringBuilder();
		settings.forEach((name, value) -> extra.append("  ").append(name).append(": \"").append(value).append("\"\n"));
		String varsYaml;
		try {
			varsYaml = """
					bluegreen_apt_update_cache: false
					bluegreen_deploy_authorized_keys: ["%s"]
					bluegreen_settings:
					  APP_HOME: /opt/app
					  PUBLIC_PORT: 80
					%sbluegreen_app_env:
					  SPRING_DATA_REDIS_HOST: "%s"
					  SPRING_DATA_REDIS_PORT: "%s"
					  SPRING_DATA_REDIS_DATABASE: "%s"
					  SPRING_RABBITMQ_HOST: "%s"
					  SPRING_RABBITMQ_PORT: "%s"
					  SPRING_RABBITMQ_USERNAME: "%s"
					  SPRING_RABBITMQ_PASSWORD: "%s"
					  SPRING_RABBITMQ_VIRTUAL_HOST: "%s"
					""".formatted(Files.readString(Path.of(env.get("SSH_KEY") + ".pub")).strip(), extra,
					env.get("REDIS_HOST"), env.get("REDIS_PORT"), env.get("REDIS_DATABASE"), env.get("RABBITMQ_HOST"),
					env.get("RABBITMQ_PORT"), env.get("RABBITMQ_USERNAME"), env.get("RABBITMQ_PASSWORD"),
					env.get("RABBITMQ_VHOST"));
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return write(dir, env.get("SSH_CONFIG"), groups, varsYaml);
	}

	private static Ansible write(Path dir, String sshConfig, Map<String, List<BootedHosts.Host>> groups,
			String varsYaml) {
		StringBuilder inventory = new StringBuilder();
		groups.forEach((group, hosts) -> {
			inventory.append('[').append(group).append("]\n");
			for (BootedHosts.Host host : hosts) {
				inventory.append(host.name()).append(" ansible_host=").append(host.address()).append('\n');
			}
			inventory.append('\n');
		});
		inventory.append("[all:vars]\nansible_user=root\nansible_ssh_common_args=-F ").append(sshConfig).append('\n');
		try {
			Files.createDirectories(dir);
			Path inventoryFile = Files.writeString(dir.resolve("inventory.ini"), inventory);
			Path varsFile = dir.resolve("vars.yml");
			Files.deleteIfExists(varsFile);
			Files.createFile(varsFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
			Files.writeString(varsFile, varsYaml);
			return new Ansible(inventoryFile, varsFile);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	public Path inventory() {
		return this.inventory;
	}

	/** Runs ansible/PLAYBOOK against the inventory; fails when it fails. */
	public Run playbook(String playbook, Duration timeout) {
		ScriptProcess.Result result = ScriptProcess
			.start(Path.of("/usr/bin/ansible-playbook"),
					Map.of("ANSIBLE_CONFIG", ANSIBLE_DIR.resolve("ansible.cfg").toString(), "ANSIBLE_NOCOLOR", "1",
							"ANSIBLE_FORCE_COLOR", "0"),
					"-i", this.inventory.toString(), "-e", "@" + this.vars, ANSIBLE_DIR.resolve(playbook).toString())
			.waitFor(timeout);
		if (result.exitCode() != 0) {
			throw new IllegalStateException("ansible-playbook " + playbook + " failed: " + result.output());
		}
		return new Run(result);
	}

	/** A finished playbook run: its output and each host's recap. */
	public record Run(ScriptProcess.Result result) {

		/** The "changed=" count of the host's recap line. */
		public int changed(String host) {
			Matcher recap = RECAP.matcher(this.result.stdout());
			while (recap.find()) {
				if (recap.group(1).equals(host)) {
					return Integer.parseInt(recap.group(3));
				}
			}
			throw new IllegalStateException("No recap for " + host + " in: " + this.result.stdout());
		}

		/** The tasks that reported a change ("changed: [host]" lines with the task heading before them). */
		public List<String> changedTasks() {
			String task = "";
			List<String> changed = new ArrayList<>();
			for (String line : this.result.stdout().split("\n")) {
				if (line.startsWith("TASK [") || line.startsWith("RUNNING HANDLER [")) {
					task = line.replaceAll("\\s*\\*+$", "");
				}
				else if (line.startsWith("changed:")) {
					changed.add(task + " " + line);
				}
			}
			return changed;
		}

	}

}
