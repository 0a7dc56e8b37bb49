package com.example.bluegreen.hosts;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.example.bluegreen.support.BootedHosts;
import com.example.bluegreen.support.BootedHosts.Host;
import com.example.bluegreen.support.ScriptProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The newcomer's path: a bare Debian 12 host (booted, systemd as PID 1) with only a JDK and git, a clone
 * of this repository's HEAD, and the README's commands run as a user with sudo: {@code scripts/setup.sh}
 * installs what is missing from the Debian mirror and starts the host's own Redis and RabbitMQ (a second
 * run installs nothing), {@code scripts/demo.sh} deploys under load with no failed request, and
 * {@code ./mvnw test} passes; the demo timed cold (empty ~/.m2), the tests after it. The host reaches
 * Maven Central and the Debian mirror by their names through the harness's relays
 * ({@code hosts.sh registries}), with no route out. In order; needs root (see BootedHosts).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NewcomerIntegrationTests {

	/** Not root: setup.sh takes its sudo path, as on a workstation. */
	private static final String USER = "newcomer";

	private static final Path WORK = Path.of("target/booted-newcomer").toAbsolutePath();

	/** A cold run downloads Maven, its plugins and every dependency; a slow link makes that minutes. */
	private static final Duration RUN_TIMEOUT = Duration.ofMinutes(20);

	private static final Pattern REQUESTS = Pattern.compile("requests through nginx: (\\d+) in ");

	private static final Pattern FAILED = Pattern.compile("failed: (\\d+) \\(");

	private static final Pattern TESTS = Pattern.compile(
			"(?m)^\\[INFO\\] Tests run: (\\d+), Failures: (\\d+), Errors: (\\d+), Skipped: (\\d+)$");

	private BootedHosts hosts;

	private Host host;

	private long startedNanos;

	@BeforeAll
	void aBareHostWithAJdkGitAndAClone() throws IOException {
		this.startedNanos = System.nanoTime();
		this.hosts = BootedHosts.open();
		this.host = this.hosts.start("newcomer");
		// The newcomer's starting point: a JDK and git (from the apt cache seeded into the image, see
		// packages.list), and an account with sudo. Nothing else the project needs is here.
		this.host.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-download --no-install-recommends "
				+ "openjdk-17-jdk-headless git sudo");
		this.host.run("useradd -m -s /bin/bash " + USER + " && echo '" + USER + " ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/"
				+ USER + " && chmod 0440 /etc/sudoers.d/" + USER + " && install -d -m 0700 -o " + USER + " -g " + USER
				+ " /home/" + USER + "/.ssh && install -m 0600 -o " + USER + " -g " + USER
				+ " /root/.ssh/authorized_keys /home/" + USER + "/.ssh/");
		assertThat(this.host.run("PATH=$PATH:/usr/sbin:/sbin; for tool in java javac git nginx redis-server rabbitmq-server"
				+ " curl jq unzip shellcheck mvn; do command -v $tool >/dev/null || echo $tool; done"))
			.isEqualTo("nginx\nredis-server\nrabbitmq-server\ncurl\njq\nunzip\nshellcheck\nmvn");
		this.hosts.registries(this.host);
		cloneHead();
	}

	@AfterAll
	void cleanUp() {
		if (this.hosts != null) {
			this.hosts.close();
		}
		System.out.printf("newcomer: the whole path (boot, JDK and git, clone, setup twice, demo cold, then mvnw test)"
				+ " %d ms%n", (System.nanoTime() - this.startedNanos) / 1_000_000);
	}

	@Test
	@Order(1)
	void setupInstallsWhatIsMissingAndStartsTheHostsOwnRedisAndRabbitMqAndASecondRunInstallsNothing() {
		String missing = newcomer("scripts/setup.sh --check").stdout().strip();
		assertThat(missing).as("packages setup.sh --check names on a host with only a JDK and git").isNotEmpty();
		List<String> before = installedPackages();

		Timed first = timed("scripts/setup.sh --yes");
		assertSucceeded(first);
		List<String> afterFirst = installedPackages();
		Timed second = timed("scripts/setup.sh --yes");
		assertSucceeded(second);

		assertThat(second.result().output()).doesNotContain("installing");
		assertThat(installedPackages()).as("packages after the second run").isEqualTo(afterFirst);
		assertThat(newcomer("scripts/setup.sh --check").stdout().strip()).isEmpty();
		// The host's own services on its loopback, not the machine's (relayed on the bridge address).
		assertThat(this.host.run("ss -Hltnp 'sport = :6379'")).contains("127.0.0.1:6379", "redis-server");
		assertThat(this.host.run("ss -Hltnp 'sport = :5672'")).contains(":5672", "beam.smp");
		System.out.printf("newcomer: scripts/setup.sh --yes on a host with only a JDK and git: first run %d ms"
				+ " (%d packages installed for %d missing), second run %d ms (nothing installed)%n", first.ms(),
				afterFirst.size() - before.size(), missing.lines().count(), second.ms());
	}

	@Test
	@Order(2)
	void theDemoDeploysUnderLoadWithNoFailedRequestCold() {
		assertThat(newcomer("test ! -e ~/.m2").exitCode()).as("~/.m2 exists before the first demo").isZero();

		// Cold only in the suite (it runs on every push); the warm run's time is measured by hand (README).
		Timed cold = timed("scripts/demo.sh");
		int[] coldLoad = assertNoFailedRequest(cold);

		System.out.printf("newcomer: scripts/demo.sh cold (empty ~/.m2): %d ms, failed %d of %d requests%n", cold.ms(),
				coldLoad[0], coldLoad[1]);
		// The README's way to end the demo (the test runs below then have the host to themselves).
		assertSucceeded(timed("scripts/stop.sh all --force && scripts/nginx.sh stop"));
	}

	@Test
	@Order(3)
	void theUnitTestsPass() {
		// After the demo, as a newcomer runs them: Maven and the app's dependencies are there (the demo's
		// cold run downloaded them), the test dependencies are not. The cold run's time is in README.
		Timed run = timed("./mvnw test");
		int tests = assertTestsPassed(run);

		System.out.printf("newcomer: ./mvnw test after the demo: %d ms, %d tests passed%n", run.ms(), tests);
	}

	/**
	 * HEAD as a git bundle, cloned on the host by the newcomer. A shallow checkout (CI) gives the clone its
	 * boundary, so that git (and the build's git.properties) reads the history it has.
	 */
	private void cloneHead() throws IOException {
		Files.createDirectories(WORK);
		Path bundle = WORK.resolve("project.bundle");
		Files.deleteIfExists(bundle);
		ScriptProcess.Result created = ScriptProcess
			.start(Path.of("/usr/bin/env"), Map.of(), "git", "bundle", "create", "-q", bundle.toString(), "HEAD")
			.waitFor(Duration.ofMinutes(1));
		assertThat(created.exitCode()).as(created.output()).isZero();
		this.host.copy(bundle, "/var/tmp/project.bundle");
		assertSucceeded(timed("git clone -q /var/tmp/project.bundle ~/bluegreen", false));
		Path shallow = Path.of(".git/shallow");
		if (Files.isRegularFile(shallow)) {
			this.host.copy(shallow, "/home/" + USER + "/bluegreen/.git/shallow");
			this.host.run("chown " + USER + ": /home/" + USER + "/bluegreen/.git/shallow");
		}
		assertThat(newcomer("git rev-parse HEAD").stdout().strip()).isEqualTo(
				ScriptProcess.start(Path.of("/usr/bin/env"), Map.of(), "git", "rev-parse", "HEAD")
					.waitFor(Duration.ofMinutes(1))
					.stdout()
					.strip());
	}

	private List<String> installedPackages() {
		return this.host.run("dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\\n' | grep '^ii' | sort").lines()
			.toList();
	}

	/** The demo's report: exit 0 and "failed: 0"; returns {failed, requests}. */
	private static int[] assertNoFailedRequest(Timed demo) {
		assertSucceeded(demo);
		String output = demo.result().output();
		Matcher requests = REQUESTS.matcher(output);
		Matcher failed = FAILED.matcher(output);
		assertThat(requests.find() && failed.find()).as("the demo's report in:%n%s", tail(output)).isTrue();
		int total = Integer.parseInt(requests.group(1));
		int failures = Integer.parseInt(failed.group(1));
		assertThat(failures).as(tail(output)).isZero();
		assertThat(total).as("requests the demo sent").isGreaterThan(1000);
		return new int[] { failures, total };
	}

	/** Maven's summary of the run: no failure, error or skip; returns how many tests ran. */
	private static int assertTestsPassed(Timed maven) {
		assertSucceeded(maven);
		Matcher summary = TESTS.matcher(maven.result().output());
		String last = null;
		while (summary.find()) {
			last = summary.group();
		}
		assertThat(last).as("Maven's test summary in:%n%s", tail(maven.result().output())).isNotNull();
		Matcher counts = TESTS.matcher(last);
		assertThat(counts.find()).isTrue();
		assertThat(List.of(counts.group(2), counts.group(3), counts.group(4))).as(last).containsOnly("0");
		int tests = Integer.parseInt(counts.group(1));
		assertThat(tests).isPositive();
		return tests;
	}

	private static void assertSucceeded(Timed timed) {
		assertThat(timed.result().exitCode()).as("%s exited %d:%n%s", timed.command(), timed.result().exitCode(),
				tail(timed.result().output())).isZero();
	}

	/** The last lines of a long output (a cold Maven run logs every download). */
	private static String tail(String output) {
		List<String> lines = output.lines().toList();
		return String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
	}

	private ScriptProcess.Result newcomer(String command) {
		return timed(command).result();
	}

	/** COMMAND as the newcomer, in the clone. */
	private Timed timed(String command) {
		return timed(command, true);
	}

	private Timed timed(String command, boolean inClone) {
		long started = System.nanoTime();
		ScriptProcess.Result result = this.host.sshAs(USER, (inClone ? "cd ~/bluegreen && " : "") + command, RUN_TIMEOUT);
		return new Timed(command, result, (System.nanoTime() - started) / 1_000_000);
	}

	private record Timed(String command, ScriptProcess.Result result, long ms) {
	}

}
