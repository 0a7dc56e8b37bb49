package com.example.bluegreen.hosts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.tools.ToolProvider;

import com.example.bluegreen.support.Ansible;
import com.example.bluegreen.support.BootedHosts;
import com.example.bluegreen.support.BootedHosts.Host;
import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.LoadGenerator;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real server: a bare Debian 12 host (booted, systemd as PID 1) provisioned by ansible/site.yml, deployed
 * to over SSH as the deploy user, its colors supervised by systemd: alive after a kill -9 and a reboot,
 * with a deploy user who cannot escalate. One host, provisioned once (the first test), used by the others
 * in order. Needs root (see BootedHosts).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServerIntegrationTests {

	private static final String DEPLOY = "/opt/bluegreen/scripts/deploy.sh";

	private static final String STATUS = "/opt/bluegreen/scripts/status.sh";

	private static final Map<String, String> SETTINGS = Map.of("JAVA_OPTS", DeployHarness.TEST_JAVA_OPTS);

	private static final Path WORK = Path.of("target/booted-hosts").toAbsolutePath();

	private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

	private BootedHosts hosts;

	private Host host;

	private Ansible ansible;

	@BeforeAll
	void bootABareHost() throws IOException {
		this.hosts = BootedHosts.open();
		this.host = this.hosts.startAll("app1").get(0);
		// The colors' JVM options of the local deploy tests: fast starts on this machine's two cores.
		this.ansible = Ansible.forGroups(WORK, this.hosts, Map.of("app", List.of(this.host)), SETTINGS);
		this.host.copy(TestJars.current(), "/var/tmp/app-v1.jar");
		this.host.copy(TestJars.next(), "/var/tmp/app-v2.jar");
	}

	@AfterAll
	void cleanUp() {
		if (this.hosts != null) {
			this.hosts.close();
		}
	}

	@Test
	@Order(1)
	void siteYmlProvisionsABareHostAndASecondRunChangesNothing() throws IOException {
		long started = System.nanoTime();
		Ansible.Run first = this.ansible.playbook("site.yml", Duration.ofMinutes(10));
		long firstMs = (System.nanoTime() - started) / 1_000_000;
		assertThat(first.changed("app1")).isPositive();
		String before = managedFiles();

		started = System.nanoTime();
		Ansible.Run second = this.ansible.playbook("site.yml", Duration.ofMinutes(5));
		long secondMs = (System.nanoTime() - started) / 1_000_000;

		assertThat(second.changedTasks()).as("tasks that changed on the second run").isEmpty();
		assertThat(second.changed("app1")).isZero();
		assertThat(managedFiles()).isEqualTo(before);
		System.out.printf("server: site.yml on a bare host %d ms (%d changed), second run %d ms (0 changed)%n", firstMs,
				first.changed("app1"), secondMs);
		// A change hidden as "no change" would make the second run's zero meaningless.
		try (var files = Stream.concat(Stream.of(Path.of("ansible/site.yml")), Files.walk(Path.of("ansible/roles")))) {
			for (Path file : files.filter(Files::isRegularFile).toList()) {
				assertThat(Files.readString(file)).as(file.toString()).doesNotContainPattern("changed_when:\\s*false");
			}
		}
		// The deploy user is not in nginx's group, and run/ is setgid to it: the sockets get the group.
		assertThat(this.host.run("id -nG deploy")).doesNotContain("www-data");
		assertThat(this.host.run("stat -c '%U %G %a' /opt/app/run")).isEqualTo("deploy www-data 2750");
		assertThat(this.host.run("systemctl is-enabled bluegreen-live.service")).isEqualTo("enabled");
		assertThat(this.host.run("systemctl is-enabled bluegreen@blue.service bluegreen@green.service || true").lines())
			.containsOnly("static");
	}

	@Test
	@Order(2)
	void theDeployUserDeploysTwoVersionsOverSshUnderLoadWithNoFailedRequest() {
		deploy("/var/tmp/app-v1.jar");
		assertThat(version()).isEqualTo(TestJars.version(TestJars.current()));

		LoadGenerator.Result load;
		try (LoadGenerator generator = new LoadGenerator(this.host.address(), 80, 16, true, Duration.ofMillis(50))) {
			deploy("/var/tmp/app-v2.jar");
			assertThat(version()).isEqualTo(TestJars.nextVersion());
			deploy("/var/tmp/app-v1.jar");
			load = generator.stop();
		}
		System.out.printf("server: 2 deploys under 16 keep-alive clients through the host's nginx: %d failed of %d%n",
				load.failures().size(), load.total());
		assertThat(load.total()).isGreaterThan(1000);
		assertThat(load.failures()).as(load.describeFailures(10)).isEmpty();
		// The colors are systemd's: the live one runs in its unit as the deploy user, the old one is stopped.
		String live = liveColor();
		assertThat(this.host.run("systemctl is-active bluegreen@" + live)).isEqualTo("active");
		assertThat(this.host.run("ps -o user= -p $(systemctl show -p MainPID --value bluegreen@" + live + ")"))
			.isEqualTo("deploy");
		assertThat(this.host.ssh("systemctl is-active bluegreen@" + other(live)).stdout().strip()).isEqualTo("inactive");
		assertThat(this.host.run("stat -c %G /opt/app/run/" + live + ".sock")).isEqualTo("www-data");
	}

	@Test
	@Order(3)
	void systemdRestartsAKilledLiveColorWithNobodyActing() {
		String live = liveColor();
		long pid = mainPid(live);
		LoadGenerator.Result load;
		long recoveredMs;
		try (LoadGenerator generator = new LoadGenerator(this.host.address(), 80, 4, true, Duration.ofMillis(20),
				LoadGenerator.Mix.VERSION)) {
			await().atMost(Duration.ofSeconds(30)).until(() -> generator.answered() >= 100);
			long killed = System.nanoTime();
			this.host.run("kill -9 " + pid);
			await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> status("/api/version") == 200);
			recoveredMs = (System.nanoTime() - killed) / 1_000_000;
			int atRecovery = generator.answered();
			await().atMost(Duration.ofSeconds(30)).until(() -> generator.answered() >= atRecovery + 100);
			load = generator.stop();
		}
		long failedMs = failureWindowMs(load);
		System.out.printf("server: kill -9 of the live JVM, no warm color: serving again after %d ms; failed requests "
				+ "for %d ms (%d of %d)%n", recoveredMs, failedMs, load.failures().size(), load.total());
		assertThat(mainPid(live)).isNotEqualTo(pid);
		assertThat(this.host.run("systemctl show -p NRestarts --value bluegreen@" + live)).isEqualTo("1");
		assertThat(liveColor()).isEqualTo(live);
		assertThat(recoveredMs).isLessThan(60_000);
	}

	@Test
	@Order(4)
	void withAWarmOtherColorAKilledLiveColorFailsNoGet() {
		deploy("KEEP_OLD=true " + DEPLOY + " /var/tmp/app-v2.jar", true);
		String live = liveColor();
		assertThat(this.host.run("systemctl is-active bluegreen@" + other(live))).isEqualTo("active");
		System.out.printf("server: memory of the host with both colors running (the tests' JAVA_OPTS): %d MiB (PSS of its processes)%n",
				this.host.memoryKib() / 1024);
		LoadGenerator.Result load;
		try (LoadGenerator generator = new LoadGenerator(this.host.address(), 80, 8, true, Duration.ofMillis(20),
				LoadGenerator.Mix.VERSION)) {
			await().atMost(Duration.ofSeconds(30)).until(() -> generator.answered() >= 200);
			long pid = mainPid(live);
			this.host.run("kill -9 " + pid);
			await().atMost(Duration.ofSeconds(90)).until(() -> mainPid(live) != 0 && mainPid(live) != pid
					&& this.host.ssh("curl -fs -o /dev/null localhost:" + port(live) + "/actuator/health/readiness")
						.exitCode() == 0);
			load = generator.stop();
		}
		System.out.printf("server: kill -9 of the live JVM with a warm other color: %d failed of %d GETs%n",
				load.failures().size(), load.total());
		assertThat(load.total()).isGreaterThan(500);
		assertThat(load.failures()).as(load.describeFailures(10)).isEmpty();
	}

	@Test
	@Order(5)
	void afterARebootThePointersColorServesTheLastReleaseAndTheOtherDoesNotRun() {
		String live = liveColor();
		String version = version();
		long started = System.nanoTime();
		this.host.reboot();
		long bootedMs = (System.nanoTime() - started) / 1_000_000;
		await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> status("/api/version") == 200);
		long servingMs = (System.nanoTime() - started) / 1_000_000;
		System.out.printf("server: reboot: host running again after %d ms, serving through nginx after %d ms%n", bootedMs,
				servingMs);

		assertThat(version()).isEqualTo(version);
		assertThat(liveColor()).isEqualTo(live);
		assertThat(this.host.ssh("systemctl is-active bluegreen@" + other(live)).stdout().strip()).isEqualTo("inactive");
		assertThat(this.host.run("systemctl is-active bluegreen@" + live)).isEqualTo("active");

		deploy("/var/tmp/app-v1.jar");
		assertThat(version()).isEqualTo(TestJars.version(TestJars.current()));
	}

	@Test
	@Order(6)
	void theDeployUserCannotEscalate() {
		// sudo -l: exactly the unit commands, nothing else.
		Set<String> allowed = this.host.sshAs("deploy", "sudo -n -l").stdout().lines()
			.filter((line) -> line.contains("NOPASSWD:"))
			.map((line) -> line.substring(line.indexOf("NOPASSWD:") + 9).strip())
			.collect(Collectors.toSet());
		Set<String> expected = new HashSet<>();
		for (String verb : List.of("start", "stop", "restart", "reset-failed")) {
			for (String color : List.of("blue", "green")) {
				expected.add("/usr/bin/systemctl " + verb + " bluegreen@" + color + ".service");
			}
		}
		assertThat(allowed).isEqualTo(expected);
		// nginx -t (prints the first token of an included root-only file), other units, a reload: refused.
		for (String attempt : List.of("sudo -n /usr/sbin/nginx -t", "sudo -n /usr/sbin/nginx -s reload",
				"sudo -n systemctl reload nginx", "sudo -n systemctl start bluegreen@x.service",
				"sudo -n systemctl daemon-reload", "sudo -n systemctl edit bluegreen@blue.service",
				"sudo -n systemctl start bluegreen@blue", "mkdir /etc/systemd/system/bluegreen@.service.d",
				"echo 'include /etc/shadow;' > /etc/nginx/bluegreen/active.conf",
				"echo x >> /etc/bluegreen/deploy.env")) {
			assertThat(this.host.sshAs("deploy", attempt).exitCode()).as(attempt).isNotZero();
		}
		// Nothing root executes or reads as config is the deploy user's to write.
		String writable = this.host.sshAs("deploy",
				"find /etc/bluegreen /etc/nginx /etc/systemd /etc/sudoers.d /etc/logrotate.d /usr/local/sbin /opt/bluegreen "
						+ "\\( -type f -o -type d \\) -writable 2>/dev/null || true")
			.stdout().strip();
		assertThat(writable).isEmpty();
		// Every file root's nginx read, and every directory above it.
		List<String> nginxFiles = this.host.run("nginx -T 2>/dev/null | sed -n 's/^# configuration file \\(.*\\):$/\\1/p'")
			.lines().toList();
		assertThat(nginxFiles).contains("/etc/nginx/bluegreen/conf.d/app.conf", "/etc/nginx/bluegreen/active.conf");
		for (String file : nginxFiles) {
			String check = "p=" + file + "; while [ \"$p\" != / ]; do [ -w \"$p\" ] && echo \"$p\"; p=$(dirname \"$p\"); done; true";
			assertThat(this.host.sshAs("deploy", check).stdout().strip()).as(file).isEmpty();
		}
		// The boot unit takes its settings from its own (root's) unit file, never from an environment file.
		assertThat(this.host.run("systemctl show -p EnvironmentFiles --value bluegreen-live.service")).isEmpty();
		assertThat(this.host.run("systemctl show -p EnvironmentFiles --value bluegreen@blue.service")).isEmpty();
	}

	@Test
	@Order(7)
	void aReleaseThatDiesAtEveryStartFailsTheDeployAndSystemdGivesUpWithinAMinute() throws IOException {
		String live = liveColor();
		String version = version();
		this.host.copy(dyingJar(), "/var/tmp/dies.jar");

		ScriptProcess.Result deploy = this.host.sshAs("deploy", "FAST_START=false " + DEPLOY + " /var/tmp/dies.jar");

		assertThat(deploy.exitCode()).as(deploy.output()).isEqualTo(1);
		assertThat(deploy.output()).contains("exited during start");
		assertThat(version()).isEqualTo(version);
		assertThat(liveColor()).isEqualTo(live);
		String idle = other(live);
		assertThat(this.host.ssh("systemctl is-active bluegreen@" + idle).stdout().strip()).isEqualTo("inactive");

		// Left to systemd (started as at boot), the release is restarted until the start limit, then given up.
		long started = System.nanoTime();
		this.host.run("systemctl start bluegreen@" + idle);
		await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
			.until(() -> this.host.run("systemctl show -p ActiveState --value bluegreen@" + idle).equals("failed"));
		long gaveUpMs = (System.nanoTime() - started) / 1_000_000;
		String restarts = this.host.run("systemctl show -p NRestarts --value bluegreen@" + idle);
		System.out.printf("server: a release that dies 4 s after each start: given up after %d ms, %s restarts%n",
				gaveUpMs, restarts);
		assertThat(gaveUpMs).isLessThan(60_000);
		assertThat(this.host.sshAs("deploy", STATUS).stdout()).contains("GAVE UP");
		assertThat(version()).isEqualTo(version);

		// The next deploy starts the color again (the deploy resets the unit systemd gave up on).
		deploy("/var/tmp/app-v2.jar");
		assertThat(version()).isEqualTo(TestJars.nextVersion());
	}

	@Test
	@Order(8)
	void theCodeDeployHooksDeployThroughTheUnitsAndLeaveRootsNginxConfigAlone() throws IOException {
		this.host.copy(agentJar(), "/var/tmp/agent.jar");
		this.host.copy(snakeYamlJar(), "/var/tmp/snakeyaml.jar");
		this.host.copy(bundle("v1", TestJars.current()), "/var/tmp/bundle-v1.zip");
		this.host.copy(bundle("v2", TestJars.next()), "/var/tmp/bundle-v2.zip");
		String nginxConfig = this.host.run("find /etc/nginx -type f -exec sha256sum {} + | sort");

		// Two deployments, as the agent runs them (as root, each hook as its runas user): the second one
		// runs the first one's ApplicationStop.
		ScriptProcess.Result agent = this.host.ssh("cd /var/tmp && java -cp /var/tmp/agent.jar:/var/tmp/snakeyaml.jar "
				+ "com.example.bluegreen.delivery.LocalCodeDeployAgent /var/tmp/codedeploy "
				+ "/var/tmp/bundle-v1.zip /var/tmp/bundle-v2.zip");

		assertThat(agent.exitCode()).as(agent.output()).isZero();
		assertThat(agent.stdout()).contains("bundle-v2.zip: deployment", "succeeded");
		assertThat(version()).isEqualTo(TestJars.nextVersion());
		String live = liveColor();
		assertThat(this.host.run("systemctl is-active bluegreen@" + live)).isEqualTo("active");
		assertThat(this.host.run("ps -o user= -p " + mainPid(live))).isEqualTo("deploy");
		assertThat(this.host.run("find /etc/nginx -type f -exec sha256sum {} + | sort")).isEqualTo(nginxConfig);
		assertThat(this.host.run("stat -c %U /opt/app/revision/appspec.yml")).isEqualTo("root");
	}

	@Test
	@Order(9)
	void aPlainBootJarIsSwitchedThroughRootsRelayWithNoFailedRequestAndNginxStartsAfterBeingKilled() {
		this.host.copy(TestJars.plain(4), "/var/tmp/plain.jar");
		String plain = "VERIFY_PATH=/api/version WARMUP_PATHS=/api/version " + DEPLOY + " /var/tmp/plain.jar";
		deploy(plain, true);

		LoadGenerator.Result load;
		try (LoadGenerator generator = new LoadGenerator(this.host.address(), 80, 16, true, Duration.ofMillis(50),
				LoadGenerator.Mix.PLAIN)) {
			deploy(plain, true);
			load = generator.stop();
		}
		System.out.printf("server: a plain Boot jar through root's relay, 1 deploy under 16 keep-alive clients: %d failed of %d%n",
				load.failures().size(), load.total());
		assertThat(load.failures()).as(load.describeFailures(10)).isEmpty();
		String link = this.host.run("readlink /opt/app/run/live.sock");
		assertThat(link).matches("/run/bluegreen-relay/relay-(blue|green)\\.sock");
		assertThat(this.host.run("stat -c '%U %a' /run/bluegreen-relay")).isEqualTo("root 755");
		assertThat(this.host.run("ls /opt/app/run")).doesNotContain("relay-");

		// Killed, nginx leaves its relay sockets behind; its unit's drop-in removes them, so it starts again.
		this.host.run("systemctl kill -s KILL nginx && systemctl start nginx");
		await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
			.until(() -> status("/api/version") == 200);
		assertThat(this.host.run("systemctl is-active nginx")).isEqualTo("active");

		deploy("/var/tmp/app-v2.jar");
		assertThat(version()).isEqualTo(TestJars.nextVersion());
		assertThat(this.host.run("readlink /opt/app/run/live.sock")).matches("(blue|green)\\.sock");
	}

	@Test
	@Order(10)
	void inReloadModeTheDeployUserSwitchesRootsNginxOnlyThroughRootsHelper() {
		Map<String, String> settings = new HashMap<>(SETTINGS);
		settings.put("SWITCH_MODE", "reload");
		Ansible reload = Ansible.forGroups(WORK.resolve("reload"), this.hosts, Map.of("app", List.of(this.host)), settings);
		reload.playbook("site.yml", Duration.ofMinutes(5));
		assertThat(this.host.sshAs("deploy", "sudo -n -l").stdout()).contains(
				"/usr/local/sbin/bluegreen-nginx-switch blue", "/usr/local/sbin/bluegreen-nginx-switch green");
		assertThat(this.host.sshAs("deploy", "sudo -n /usr/local/sbin/bluegreen-nginx-switch 'blue; id'").exitCode())
			.isNotZero();

		deploy("/var/tmp/app-v1.jar");

		String live = this.host.run("sed -n 's#^proxy_pass http://app-\\(blue\\|green\\);#\\1#p' /etc/nginx/bluegreen/active.conf");
		assertThat(live).isIn("blue", "green");
		assertThat(this.host.run("stat -c %U /etc/nginx/bluegreen/active.conf")).isEqualTo("root");
		assertThat(version()).isEqualTo(TestJars.version(TestJars.current()));
		// rollback.sh and stop.sh drive the units too.
		ScriptProcess.Result rollback = this.host.sshAs("deploy", "/opt/bluegreen/scripts/rollback.sh");
		assertThat(rollback.exitCode()).as(rollback.output()).isZero();
		assertThat(version()).isEqualTo(TestJars.nextVersion());
		assertThat(this.host.run("sed -n 's#^proxy_pass http://app-\\(blue\\|green\\);#\\1#p' /etc/nginx/bluegreen/active.conf"))
			.isEqualTo(other(live));
		assertThat(this.host.ssh("systemctl is-active bluegreen@" + live).stdout().strip()).isEqualTo("inactive");
	}

	private void deploy(String jar) {
		deploy(DEPLOY + " " + jar, true);
	}

	private void deploy(String command, boolean mustSucceed) {
		long started = System.nanoTime();
		ScriptProcess.Result result = this.host.sshAs("deploy", command);
		System.out.printf("server: %s: exit %d in %d ms%n", command, result.exitCode(),
				(System.nanoTime() - started) / 1_000_000);
		if (mustSucceed) {
			assertThat(result.exitCode()).as(result.output()).isZero();
		}
	}

	/** The files the playbook manages, with their checksums, owners and modes. */
	private String managedFiles() {
		return this.host.run("cd / && find /opt/bluegreen /etc/bluegreen /etc/nginx /etc/systemd/system /etc/sudoers.d /etc/logrotate.d "
				+ "/usr/local/sbin /opt/app/app.env -type f -printf '%p %U %G %m ' -exec sha256sum {} \\; | sort; "
				+ "stat -c '%n %U %G %a' /opt/app /opt/app/*/");
	}

	private String liveColor() {
		return this.host.run("readlink /opt/app/run/live.sock").replace(".sock", "");
	}

	private long mainPid(String color) {
		return Long.parseLong(this.host.run("systemctl show -p MainPID --value bluegreen@" + color));
	}

	private static String other(String color) {
		return color.equals("blue") ? "green" : "blue";
	}

	private static int port(String color) {
		return color.equals("blue") ? 8081 : 8082;
	}

	private String version() {
		return response("/api/version").headers().firstValue("X-App-Version").orElse("");
	}

	private int status(String path) {
		try {
			return response(path).statusCode();
		}
		catch (UncheckedIOException ex) {
			return -1;
		}
	}

	private HttpResponse<String> response(String path) {
		try {
			return this.http.send(HttpRequest.newBuilder(URI.create("http://" + this.host.address() + path))
				.timeout(Duration.ofSeconds(5))
				.build(), HttpResponse.BodyHandlers.ofString());
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	/** From the first failed request to the last one (both by the time they were meant to be sent). */
	private static long failureWindowMs(LoadGenerator.Result load) {
		List<LoadGenerator.Sample> failures = load.failures();
		if (failures.isEmpty()) {
			return 0;
		}
		long first = failures.stream().mapToLong(LoadGenerator.Sample::intendedNanos).min().orElseThrow();
		long last = failures.stream().mapToLong(LoadGenerator.Sample::intendedNanos).max().orElseThrow();
		return (last - first) / 1_000_000;
	}

	/** The Jenkinsfile's bundle: appspec.yml, scripts/ and nginx/ of this checkout, and the jar as app.jar. */
	private static Path bundle(String name, Path jar) {
		Path zip = WORK.resolve("bundle-" + name + ".zip");
		Path project = Path.of("").toAbsolutePath();
		try {
			Files.deleteIfExists(zip);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		for (List<String> command : List.of(
				List.of("zip", "-q", "-r", zip.toString(), "appspec.yml", "scripts", "nginx", "-x", "scripts/deploy.env"),
				List.of("zip", "-q", "-j", zip.toString(), jar.toString()))) {
			ScriptProcess.Result result = ScriptProcess.start(Path.of("/usr/bin/env"), Map.of(), command.toArray(String[]::new))
				.waitFor(Duration.ofMinutes(1));
			assertThat(result.exitCode()).as(result.output()).isZero();
		}
		assertThat(project.resolve("appspec.yml")).exists();
		return zip;
	}

	/** What the stand-in reads appspec.yml with. */
	private static Path snakeYamlJar() {
		try {
			return Path.of(org.yaml.snakeyaml.Yaml.class.getProtectionDomain().getCodeSource().getLocation().toURI());
		}
		catch (java.net.URISyntaxException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/** The CodeDeploy agent's stand-in (it needs only the JDK), packed to run on the host. */
	private static Path agentJar() throws IOException {
		Path classes = Path.of("target/test-classes").toAbsolutePath();
		Path jar = WORK.resolve("agent.jar");
		try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
				var files = Files.walk(classes.resolve("com/example/bluegreen/delivery"))) {
			for (Path file : files.filter((path) -> {
				String name = path.getFileName().toString();
				return name.startsWith("LocalCodeDeployAgent") || name.startsWith("AppSpec");
			}).toList()) {
				out.putNextEntry(new JarEntry(classes.relativize(file).toString()));
				out.write(Files.readAllBytes(file));
				out.closeEntry();
			}
		}
		return jar;
	}

	/**
	 * A Boot-shaped jar (Start-Class, an actuator entry: deploy.sh takes it) whose main dies 4 s after it
	 * starts: a release that cannot start. The 4 s are the fixture's own lifetime (the unit's start limit is
	 * sized for a JVM dying 3-6 s into its start), not a wait of the test: the test polls systemd.
	 */
	private static Path dyingJar() throws IOException {
		Path dir = Files.createDirectories(WORK.resolve("dies"));
		// The program's own behaviour, not a wait of the test: it lives 4 s, then exits 1 (systemd restarts it)
		Path source = Files.writeString(dir.resolve("Dies.java"),
				"public class Dies { public static void main(String[] args) throws Exception {"
						+ " Thread.sleep(4000); System.exit(1); } }");
		int compiled = ToolProvider.getSystemJavaCompiler()
			.run(null, null, null, "--release", "17", "-d", dir.toString(), source.toString());
		assertThat(compiled).isZero();
		Manifest manifest = new Manifest();
		manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
		manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "Dies");
		manifest.getMainAttributes().putValue("Start-Class", "Dies");
		Path jar = WORK.resolve("dies.jar");
		try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest)) {
			out.putNextEntry(new JarEntry("Dies.class"));
			out.write(Files.readAllBytes(dir.resolve("Dies.class")));
			out.closeEntry();
			out.putNextEntry(new JarEntry("BOOT-INF/lib/spring-boot-actuator-4.0.7.jar"));
			out.closeEntry();
		}
		return jar;
	}

}
