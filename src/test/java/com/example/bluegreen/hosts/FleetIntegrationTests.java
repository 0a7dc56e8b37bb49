package com.example.bluegreen.hosts;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.example.bluegreen.support.Ansible;
import com.example.bluegreen.support.BootedHosts;
import com.example.bluegreen.support.BootedHosts.Host;
import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.HttpConnection;
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
 * A fleet: three app hosts and a load balancer (booted Debian 12 hosts) provisioned by ansible/site.yml,
 * deployed to by scripts/fleet.sh (ansible/rollout.yml) from this machine, under load sent through the
 * load balancer by keep-alive clients that never retry (GET and POST). Needs root (see BootedHosts).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetIntegrationTests {

	private static final Path WORK = Path.of("target/booted-fleet").toAbsolutePath();

	private static final Path FLEET = Path.of("scripts/fleet.sh").toAbsolutePath();

	/** Each client's pace: 160 requests/s in all, which leaves the 2 cores room for the hosts' JVMs to start. */
	private static final Duration LOAD_INTERVAL = Duration.ofMillis(100);

	private static final Pattern PHASES = Pattern.compile("preflight ([\\d.]+)s · stage ([\\d.]+)s · promote ([\\d.]+)s · commit ([\\d.]+)s");

	private BootedHosts hosts;

	private List<Host> apps;

	private Host lb;

	private Ansible ansible;

	@BeforeAll
	void provisionAFleet() throws IOException {
		this.hosts = BootedHosts.open();
		List<Host> booted = this.hosts.startAll("app1", "app2", "app3", "lb1");
		this.apps = booted.subList(0, 3);
		this.lb = booted.get(3);
		this.ansible = Ansible.forGroups(WORK, this.hosts, Map.of("app", this.apps, "lb", List.of(this.lb)),
				// Staging starts a JVM on all three hosts at once on this machine's cores, under load.
				Map.of("FAST_START", "false", "READY_TIMEOUT", "300", "JAVA_OPTS", DeployHarness.TEST_JAVA_OPTS));
		long started = System.nanoTime();
		this.ansible.playbook("site.yml", Duration.ofMinutes(10));
		System.out.printf("fleet: site.yml on 3 app hosts and a load balancer in %d ms%n",
				(System.nanoTime() - started) / 1_000_000);
		ScriptProcess.Result first = fleet("deploy", TestJars.current().toString());
		assertThat(first.exitCode()).as(first.output()).isZero();
	}

	@AfterAll
	void cleanUp() {
		if (this.hosts != null) {
			this.hosts.close();
		}
	}

	@Test
	@Order(1)
	void fleetDeploysUnderLoadThroughTheLoadBalancerFailNoRequestAndEndOnOneVersion() {
		LoadGenerator.Result load;
		ScriptProcess.Result toNext;
		ScriptProcess.Result back;
		try (LoadGenerator generator = new LoadGenerator(this.lb.address(), 80, 16, true, LOAD_INTERVAL)) {
			toNext = fleet("deploy", TestJars.next().toString());
			assertThat(toNext.exitCode()).as(toNext.output()).isZero();
			assertThat(versions()).containsOnly(TestJars.nextVersion());
			back = fleet("deploy", TestJars.current().toString());
			assertThat(back.exitCode()).as(back.output()).isZero();
			load = generator.stop();
		}
		System.out.printf("fleet: v1 -> v2 -> v1 under 16 keep-alive clients (GET and POST) through the load balancer: %d failed of %d;"
				+ " mixed versions at most for the promote phase: %s s, %s s%n", load.failures().size(), load.total(),
				phase(toNext, 3), phase(back, 3));
		assertThat(load.total()).isGreaterThan(1000);
		assertThat(load.failures()).as(load.describeFailures(10)).isEmpty();
		assertThat(versions()).containsOnly(TestJars.version(TestJars.current()));
		assertThat(load.acceptedOrders()).isNotEmpty();
	}

	@Test
	@Order(3)
	void aVersionUnreadyOnlyOnHost2LeavesEveryHostOnTheOldVersion() {
		// A setting only host 2 has: the new color cannot be ready within a second.
		FailedDeploy failed = deployNextWithHost2Settings("unready on app2 at stage", "READY_TIMEOUT=1");
		ScriptProcess.Result deploy = failed.deploy();
		LoadGenerator.Result load = failed.load();
		assertThat(deploy.exitCode()).as(deploy.output()).isEqualTo(1);
		assertThat(deploy.stderr()).contains("failed on app2");
		assertThat(versions()).containsOnly(TestJars.version(TestJars.current()));
		for (Host app : this.apps) {
			assertThat(app.sshAs("deploy", "/opt/bluegreen/scripts/lease.sh show").stdout()).as(app.name()).isBlank();
			assertThat(app.run("systemctl is-active bluegreen@blue bluegreen@green || true").lines()
				.filter("active"::equals)).as(app.name()).hasSize(1);
		}
		assertThat(load.failures()).as(load.describeFailures(10)).isEmpty();
	}

	@Test
	@Order(4)
	void aVersionThatFailsItsVerifyOnHost2AfterItsSwitchPutsHost1BackAndNeverSwitchesHost3() {
		// A setting only host 2 has: its verify after the switch asks a port nothing listens on, and fails.
		FailedDeploy failed = deployNextWithHost2Settings("verify fails on app2 after its switch", "PUBLIC_PORT=81",
				"VERIFY_TIMEOUT=3");
		ScriptProcess.Result deploy = failed.deploy();
		LoadGenerator.Result load = failed.load();
		assertThat(deploy.exitCode()).as(deploy.output()).isEqualTo(1);
		assertThat(deploy.stderr()).contains("failed on app2");
		assertThat(versions()).containsOnly(TestJars.version(TestJars.current()));
		// Host 1 switched and was put back; host 3 never switched; host 2 undid its own switch.
		assertThat(lastDeploy(this.apps.get(0))).isEqualTo("aborted switched");
		assertThat(lastDeploy(this.apps.get(1))).isEqualTo("rolled-back switched");
		assertThat(lastDeploy(this.apps.get(2))).isEqualTo("aborted not-switched");
		assertThat(load.failures()).as(load.describeFailures(10)).isEmpty();
	}

	@Test
	@Order(5)
	void aSecondFleetDeployExits3WithinSecondsWhileTheFirstRuns() {
		ScriptProcess first = ScriptProcess.start(FLEET, fleetEnv(), "-i", this.ansible.inventory().toString(), "deploy",
				TestJars.next().toString());
		first.awaitLine("staging", Duration.ofSeconds(60));
		long started = System.nanoTime();
		ScriptProcess.Result second = fleet("deploy", TestJars.next().toString());
		long secondMs = (System.nanoTime() - started) / 1_000_000;
		System.out.printf("fleet: a second fleet deploy exited %d after %d ms%n", second.exitCode(), secondMs);
		assertThat(second.exitCode()).as(second.output()).isEqualTo(3);
		assertThat(secondMs).isLessThan(5_000);
		ScriptProcess.Result firstResult = first.waitFor(Duration.ofMinutes(5));
		assertThat(firstResult.exitCode()).as(firstResult.output()).isZero();
		assertThat(versions()).containsOnly(TestJars.nextVersion());
		// A local deploy on a host while a fleet deploy holds it exits 3 too: covered by the lease (lease.sh).
	}

	@Test
	@Order(6)
	void aHostBusyOrUnreachableAtPreflightFailsTheFleetDeployAndChangesNothing() {
		// A deploy staged by hand on host 2: exit 3 naming it, and that deploy stays staged.
		Host app2 = this.apps.get(1);
		app2.copy(TestJars.current(), "/var/tmp/by-hand.jar");
		ScriptProcess.Result byHand = app2.sshAs("deploy", "/opt/bluegreen/scripts/deploy.sh --stage /var/tmp/by-hand.jar");
		assertThat(byHand.exitCode()).as(byHand.output()).isZero();
		String staged = fleetState();
		ScriptProcess.Result busy = fleet("deploy", TestJars.current().toString());
		assertThat(busy.exitCode()).as(busy.output()).isEqualTo(3);
		assertThat(busy.stderr()).contains("app2");
		assertThat(fleetState()).isEqualTo(staged).contains("staged");
		ScriptProcess.Result abort = app2.sshAs("deploy", "/opt/bluegreen/scripts/deploy.sh --abort");
		assertThat(abort.exitCode()).as(abort.output()).isZero();

		// Host 3 unreachable: exit 2 naming it.
		Host app3 = this.apps.get(2);
		String before = fleetState();
		this.hosts.network(app3, false);
		ScriptProcess.Result deploy;
		try {
			deploy = fleet("deploy", TestJars.current().toString());
		}
		finally {
			this.hosts.network(app3, true);
		}
		System.out.printf("fleet: app3 unreachable at preflight: exit %d%n", deploy.exitCode());
		assertThat(deploy.exitCode()).as(deploy.output()).isEqualTo(2);
		assertThat(deploy.stderr()).contains("app3");
		assertThat(fleetState()).isEqualTo(before);
		assertThat(versions()).containsOnly(TestJars.nextVersion());
	}

	@Test
	@Order(7)
	void theBalancerFailsOverADeadHostWithNoFailedGetAndASkippedHostKeepsItsVersion() {
		Host app3 = this.apps.get(2);
		// Its processes die (nginx and the colors, SIGKILL), then, separately, its network goes.
		LoadGenerator.Result killed = loadWhile(() -> app3.run("pkill -KILL -x nginx; pkill -KILL -x java; true"),
				() -> app3.run("systemctl start nginx"));
		LoadGenerator.Result cutOff = loadWhile(() -> this.hosts.network(app3, false), () -> { });
		try {
			ScriptProcess.Result skipping = fleet("--skip", "app3", "deploy", TestJars.current().toString());
			assertThat(skipping.exitCode()).as(skipping.output()).isZero();
		}
		finally {
			this.hosts.network(app3, true);
		}
		await().atMost(Duration.ofSeconds(60)).until(() -> app3.ssh("curl -fs -o /dev/null localhost/api/version").exitCode() == 0);
		assertThat(versions()).containsExactly(TestJars.version(TestJars.current()), TestJars.version(TestJars.current()),
				TestJars.nextVersion());
		for (LoadGenerator.Result load : List.of(killed, cutOff)) {
			List<LoadGenerator.Sample> posts = load.samples().stream().filter((sample) -> sample.kind().equals("order")).toList();
			long failedGets = load.failures().stream().filter((sample) -> !sample.kind().equals("order")).count();
			long failedPosts = posts.stream().filter((sample) -> !sample.ok()).count();
			List<Long> gets = load.samples().stream().filter((sample) -> !sample.kind().equals("order"))
				.map(LoadGenerator.Sample::latencyNanos).sorted().toList();
			double p99 = gets.get((int) Math.ceil(0.99 * gets.size()) - 1) / 1_000_000.0;
			System.out.printf("fleet: a host dies under load: %d requests, %d GETs failed, %d of %d POSTs failed, GET p99 %.0f ms%n",
					load.total(), failedGets, failedPosts, posts.size(), p99);
			assertThat(failedGets).as(load.describeFailures(10)).isZero();
			assertThat(p99).isLessThanOrEqualTo(3000);
		}
	}

	@Test
	@Order(8)
	void theHostsTrustForwardedHeadersFromTheBalancerOnly() throws IOException {
		Host app1 = this.apps.get(0);
		String claimsHttps = "curl -s -D - -o /dev/null -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-For: 203.0.113.7' http://"
				+ app1.address() + "/";
		// From the balancer (a TLS-ending one would send these): the cookie is Secure, the client's address logged.
		assertThat(this.lb.run(claimsHttps)).containsPattern("(?i)set-cookie: [^\\r\\n]*; Secure");
		assertThat(app1.run("tail -n 20 /var/log/nginx/bluegreen.access.log")).contains("203.0.113.7 [");
		// From anyone else (this machine): the same claim is ignored.
		try (HttpConnection connection = new HttpConnection(app1.address(), 80)) {
			HttpConnection.Response response = connection.get("/",
					Map.of("X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.9"));
			assertThat(response.header("Set-Cookie")).isNotNull().doesNotContainIgnoringCase("secure");
		}
		assertThat(app1.run("tail -n 20 /var/log/nginx/bluegreen.access.log")).doesNotContain("198.51.100.9 [");
	}

	@Test
	@Order(9)
	void fleetStatusNamesEachHostsLiveVersionAndFleetRollbackPutsEachHostBackOnItsPreviousOne() {
		List<String> before = versions();
		ScriptProcess.Result status = fleet("status");
		assertThat(status.exitCode()).as(status.output()).isZero();
		for (int i = 0; i < this.apps.size(); i++) {
			assertThat(status.stdout()).containsPattern("(?m)^" + this.apps.get(i).name() + " +live (blue|green) +"
					+ Pattern.quote(before.get(i)));
		}
		ScriptProcess.Result json = fleet("status", "--json");
		assertThat(json.exitCode()).as(json.output()).isZero();
		assertThat(json.stdout()).contains("\"app1\"", "\"app2\"", "\"app3\"", "\"live\"");

		ScriptProcess.Result rollback = fleet("rollback");

		assertThat(rollback.exitCode()).as(rollback.output()).isZero();
		List<String> after = versions();
		for (int i = 0; i < this.apps.size(); i++) {
			assertThat(after.get(i)).as(this.apps.get(i).name()).isNotEqualTo(before.get(i));
		}
	}

	/**
	 * Mixed load through the balancer for about 8 s, with {@code fault} done after about 2 s; {@code repair}
	 * after the load.
	 */
	private LoadGenerator.Result loadWhile(Runnable fault, Runnable repair) {
		LoadGenerator.Result load;
		try (LoadGenerator generator = new LoadGenerator(this.lb.address(), 80, 16, true, LOAD_INTERVAL)) {
			// About 2 s of answers before the fault and 6 s after it (160 requests/s), counted, not slept.
			await().atMost(Duration.ofSeconds(30)).until(() -> generator.answered() >= 300);
			fault.run();
			int atFault = generator.answered();
			await().atMost(Duration.ofSeconds(60)).until(() -> generator.answered() >= atFault + 900);
			load = generator.stop();
		}
		repair.run();
		return load;
	}

	/** A fleet deploy of the next version under load, with settings only host 2 has (its APP_HOME/deploy.env). */
	private FailedDeploy deployNextWithHost2Settings(String what, String... settings) {
		Host app2 = this.apps.get(1);
		app2.sshAs("deploy", "printf '%s\\n' " + String.join(" ", settings) + " > /opt/app/deploy.env");
		try (LoadGenerator generator = new LoadGenerator(this.lb.address(), 80, 16, true, LOAD_INTERVAL)) {
			ScriptProcess.Result deploy = fleet("deploy", TestJars.next().toString());
			LoadGenerator.Result load = generator.stop();
			System.out.printf("fleet: %s: exit %d, %d failed of %d; %s%n", what, deploy.exitCode(),
					load.failures().size(), load.total(), backIn(deploy));
			return new FailedDeploy(deploy, load);
		}
		finally {
			app2.sshAs("deploy", "rm -f /opt/app/deploy.env");
		}
	}

	private record FailedDeploy(ScriptProcess.Result deploy, LoadGenerator.Result load) {
	}

	private ScriptProcess.Result fleet(String... args) {
		String[] all = new String[args.length + 2];
		all[0] = "-i";
		all[1] = this.ansible.inventory().toString();
		System.arraycopy(args, 0, all, 2, args.length);
		long started = System.nanoTime();
		ScriptProcess.Result result = ScriptProcess.start(FLEET, fleetEnv(), all).waitFor(Duration.ofMinutes(8));
		Matcher phases = PHASES.matcher(result.stdout());
		System.out.printf("fleet: fleet.sh %s: exit %d in %d ms%s%n", String.join(" ", args), result.exitCode(),
				(System.nanoTime() - started) / 1_000_000, phases.find() ? " (" + phases.group() + ")" : "");
		return result;
	}

	private static Map<String, String> fleetEnv() {
		return Map.of("TMPDIR", WORK.toString());
	}

	/** The version each app host's live color runs. */
	private List<String> versions() {
		return this.apps.stream()
			.map((app) -> app.sshAs("deploy", "/opt/bluegreen/scripts/status.sh --json | jq -r '.colors[.live].version'")
				.stdout()
				.strip())
			.toList();
	}

	/** Each app host's live color, pid, lease and journal: what a deploy that changed nothing leaves as it was. */
	private String fleetState() {
		StringBuilder state = new StringBuilder();
		for (Host app : this.apps) {
			state.append(app.name()).append(' ').append(app.sshAs("deploy",
					"/opt/bluegreen/scripts/status.sh --json | jq -c '[.live, .colors.blue.pid, .colors.green.pid, .deploy]'; "
							+ "/opt/bluegreen/scripts/lease.sh show")
				.stdout()
				.strip()).append('\n');
		}
		return state.toString();
	}

	/** The outcome of the host's last deploy, and whether it switched nginx. */
	private static String lastDeploy(Host app) {
		return app.sshAs("deploy", "tail -n1 /opt/app/state/deploys.jsonl"
				+ " | jq -r '.outcome + \" \" + (if .phases_ms.switch then \"switched\" else \"not-switched\" end)'")
			.stdout()
			.strip();
	}

	private static String phase(ScriptProcess.Result result, int group) {
		Matcher phases = PHASES.matcher(result.stdout());
		return phases.find() ? phases.group(group) : "?";
	}

	private static String backIn(ScriptProcess.Result result) {
		Matcher back = Pattern.compile("every host is back on its old version in ([\\d.]+)s").matcher(result.output());
		return back.find() ? "every host back in " + back.group(1) + " s" : "no put-back time printed";
	}

}
