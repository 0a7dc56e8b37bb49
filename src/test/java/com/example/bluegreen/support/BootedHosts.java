package com.example.bluegreen.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Booted test hosts: Debian 12 with systemd as PID 1, each in its own network namespace with its own
 * address, reachable over SSH, driven through {@code src/test/hosts/hosts.sh}. One instance per test
 * class; it holds a machine-wide lock (one run of booted hosts at a time), clears what a crashed run left,
 * and removes every host, snapshot, the network and the Redis/RabbitMQ access when closed.
 *
 * <p>
 * Needs root and the tools {@code hosts.sh check} names; without them {@link #open()} fails and says what
 * is missing (these tests never skip: leave them out with {@code -Dbooted-hosts.skip=true}).
 */
public final class BootedHosts implements AutoCloseable {

	private static final Path HARNESS = Path.of("src/test/hosts/hosts.sh").toAbsolutePath();

	private static final Path RUN_LOCK = Path.of("/run/lock/bluegreen-test-hosts.lock");

	/** The cold image build (debootstrap + seeding the apt cache) happens in the first start of a machine. */
	private static final Duration START_TIMEOUT = Duration.ofMinutes(10);

	/**
	 * A bound for hangs, not a timing: a deploy on a host builds its release's CDS archive (a training run)
	 * and drains, on a machine whose two cores also run the hosts' other JVMs.
	 */
	private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(10);

	private static final Pattern BOOT_TIMES = Pattern.compile("sshd after (\\d+) ms, running after (\\d+) ms");

	private final FileChannel lockChannel;

	private final FileLock lock;

	private boolean closed;

	private BootedHosts(FileChannel lockChannel, FileLock lock) {
		this.lockChannel = lockChannel;
		this.lock = lock;
	}

	/** Checks the tools and the kernel, waits for other runs of booted hosts, and clears leftovers. */
	public static BootedHosts open() {
		ScriptProcess.Result check = harness(Duration.ofMinutes(1), "check");
		if (check.exitCode() != 0) {
			throw new IllegalStateException("Booted test hosts cannot run here: " + check.stderr().strip());
		}
		try {
			FileChannel channel = FileChannel.open(RUN_LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
			BootedHosts hosts = new BootedHosts(channel, channel.lock());
			hosts.run(COMMAND_TIMEOUT, "down-all");
			return hosts;
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot lock " + RUN_LOCK, ex);
		}
	}

	/** Builds the base image unless it is cached; returns its path. */
	public Path image() {
		return Path.of(run(START_TIMEOUT, "image").stdout().strip());
	}

	/** Boots a bare host (the base image) and waits until sshd answers and systemd says running. */
	public Host start(String name) {
		return start(name, null);
	}

	/** Boots a host from a snapshot of another host's root. */
	public Host start(String name, Snapshot from) {
		List<String> args = new ArrayList<>(List.of("up", name));
		if (from != null) {
			args.addAll(List.of("--from", from.name()));
		}
		ScriptProcess.Result up = run(START_TIMEOUT, args.toArray(String[]::new));
		Matcher times = BOOT_TIMES.matcher(up.output());
		Duration sshd = times.find() ? Duration.ofMillis(Long.parseLong(times.group(1))) : null;
		Duration running = (sshd != null) ? Duration.ofMillis(Long.parseLong(times.group(2))) : null;
		return new Host(name, run(COMMAND_TIMEOUT, "address", name).stdout().strip(), sshd, running);
	}

	/** Boots bare hosts at the same time (the image is built first, once). */
	public List<Host> startAll(String... names) {
		image();
		List<CompletableFuture<Host>> starts = new ArrayList<>();
		for (String name : names) {
			starts.add(CompletableFuture.supplyAsync(() -> start(name)));
		}
		try {
			return starts.stream().map(CompletableFuture::join).toList();
		}
		catch (CompletionException ex) {
			throw (ex.getCause() instanceof RuntimeException cause) ? cause : ex;
		}
	}

	/**
	 * Powers the host off, keeps its root (its changes on top of what it was started from) as a snapshot
	 * that other hosts start from, and boots it again. Snapshots last until {@link #close()}.
	 */
	public Snapshot snapshot(Host host, String name) {
		run(START_TIMEOUT, "snapshot", host.name(), name);
		return new Snapshot(name);
	}

	/**
	 * The run's settings: SSH_CONFIG, SSH_KEY, SSH_KNOWN_HOSTS (for ssh -F or Ansible), GATEWAY (the
	 * machine's address on the hosts' network), REDIS_HOST/PORT, RABBITMQ_HOST/PORT/USERNAME/PASSWORD
	 * (what the hosts use to reach the machine's Redis and RabbitMQ).
	 */
	public Map<String, String> environment() {
		Map<String, String> env = new LinkedHashMap<>();
		for (String line : run(COMMAND_TIMEOUT, "env").stdout().split("\n")) {
			int equals = line.indexOf('=');
			if (equals > 0) {
				env.put(line.substring(0, equals), line.substring(equals + 1));
			}
		}
		return env;
	}

	/**
	 * Lets the host reach Maven Central and the Debian mirror by their names, through relays on the
	 * machine's address on the hosts' network (the host still has no route out). Removed with the run.
	 */
	public void registries(Host host) {
		run(COMMAND_TIMEOUT, "registries", host.name());
	}

	/** Connects the host to the hosts' network, or cuts it off (its link on the machine's side goes down). */
	public void network(Host host, boolean up) {
		run(COMMAND_TIMEOUT, "link", host.name(), up ? "up" : "down");
	}

	/**
	 * Stops every host (poweroff, kill on timeout) and removes hosts, snapshots, network and service access;
	 * keeps the run's lock (to check that nothing is left before another run may start).
	 */
	public void removeAll() {
		run(COMMAND_TIMEOUT, "down-all");
	}

	/** {@link #removeAll()}, then lets the next run of booted hosts start. */
	@Override
	public void close() {
		if (this.closed) {
			return;
		}
		try {
			removeAll();
		}
		finally {
			this.closed = true;
			try {
				this.lock.release();
				this.lockChannel.close();
			}
			catch (IOException ex) {
				throw new UncheckedIOException(ex);
			}
		}
	}

	private ScriptProcess.Result run(Duration timeout, String... args) {
		ScriptProcess.Result result = harness(timeout, args);
		if (result.exitCode() != 0) {
			throw new IllegalStateException("hosts.sh " + String.join(" ", args) + " failed: " + result.output());
		}
		return result;
	}

	private static ScriptProcess.Result harness(Duration timeout, String... args) {
		return ScriptProcess.start(HARNESS, Map.of(), args).waitFor(timeout);
	}

	/** A snapshot of a host's root that other hosts start from. */
	public record Snapshot(String name) {
	}

	/** A booted host: its name, its address, and how long it took from start to sshd and to running. */
	public final class Host {

		private final String name;

		private final String address;

		private final Duration sshdAfter;

		private final Duration runningAfter;

		private Host(String name, String address, Duration sshdAfter, Duration runningAfter) {
			this.name = name;
			this.address = address;
			this.sshdAfter = sshdAfter;
			this.runningAfter = runningAfter;
		}

		public String name() {
			return this.name;
		}

		public String address() {
			return this.address;
		}

		public Duration sshdAfter() {
			return this.sshdAfter;
		}

		public Duration runningAfter() {
			return this.runningAfter;
		}

		/** Runs a shell command on the host as root; returns its result whatever its exit code. */
		public ScriptProcess.Result ssh(String command) {
			return harness(COMMAND_TIMEOUT, "ssh", this.name, command);
		}

		/** Runs a shell command on the host as root; returns its output, or fails when it fails. */
		public String run(String command) {
			ScriptProcess.Result result = ssh(command);
			if (result.exitCode() != 0) {
				throw new IllegalStateException(this.name + ": '" + command + "' exited " + result.exitCode() + ": "
						+ result.output());
			}
			return result.stdout().strip();
		}

		/** Runs a shell command on the host as {@code user}, over SSH (the user must have the run's key). */
		public ScriptProcess.Result sshAs(String user, String command) {
			return harness(COMMAND_TIMEOUT, "ssh", "--user", user, this.name, command);
		}

		/** {@link #sshAs(String, String)} for commands that may take longer than a few minutes. */
		public ScriptProcess.Result sshAs(String user, String command, Duration timeout) {
			return harness(timeout, "ssh", "--user", user, this.name, command);
		}

		/** Copies a local file to the host (as root). */
		public void copy(Path local, String remote) {
			BootedHosts.this.run(COMMAND_TIMEOUT, "copy", this.name, local.toString(), remote);
		}

		/** Reboots the host and waits until it is running again. */
		public void reboot() {
			BootedHosts.this.run(START_TIMEOUT, "reboot", this.name);
		}

		/** The memory of the host's processes (their PSS), in KiB. */
		public long memoryKib() {
			return Long.parseLong(BootedHosts.this.run(COMMAND_TIMEOUT, "memory", this.name).stdout().strip());
		}

		/** Stops the host (poweroff, kill on timeout) and removes it. */
		public void remove() {
			BootedHosts.this.run(COMMAND_TIMEOUT, "down", this.name);
		}

		@Override
		public String toString() {
			return this.name + "@" + this.address;
		}

	}

}
