package com.example.bluegreen.deploy;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;

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
import org.junit.jupiter.api.TestMethodOrder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The operator's commands after a deploy: status, switch, rollback and stop, under load. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperationsIntegrationTests {

	private static DeployHarness harness;

	@BeforeAll
	static void deployTwoVersionsKeepingTheOldOneWarm() {
		harness = DeployHarness.start("socket", Map.of("KEEP_OLD", "true"));
		assertThat(harness.run("deploy.sh", TestJars.current().toString()).exitCode()).isZero();
		assertThat(harness.run("deploy.sh", TestJars.next().toString()).exitCode()).isZero();
	}

	@AfterAll
	static void stop() {
		harness.close();
	}

	@Test
	@Order(1)
	void statusShowsBothColorsTheLiveOneAndTheLastDeploy() {
		ScriptProcess.Result status = harness.run("status.sh", "--json");

		String json = status.stdout();
		assertThat(status.exitCode()).isZero();
		assertThat(DeployHarness.jsonField(json, "live")).isEqualTo("green");
		assertThat(json).contains("\"mode\":\"socket\"", "\"state\":\"running\",\"ready\":true",
				"\"version\":\"" + TestJars.nextVersion() + "\"", "\"version\":\"" + TestJars.version(TestJars.current()) + "\"",
				"\"outcome\":\"success\"", "\"deploy_running\":false");
		assertThat(harness.run("status.sh").stdout()).contains("live: green (socket mode", "blue  running  ready",
				"green running  ready");
	}

	@Test
	@Order(2)
	void rollbackSwitchesInstantlyToTheWarmPreviousVersion() throws IOException {
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 8, true, Duration.ofMillis(50));

		ScriptProcess.Result rollback = harness.run("rollback.sh");

		LoadGenerator.Result seen = load.stop();
		assertThat(rollback.exitCode()).as("%s", rollback).isZero();
		assertThat(rollback.stdout()).contains("rolling back to blue", "still warm");
		assertThat(version()).isEqualTo(TestJars.version(TestJars.current()));
		assertThat(seen.failures()).as("failed requests:%s", seen.describeFailures(10)).isEmpty();
		assertThat(harness.run("status.sh", "--json").stdout()).contains("\"outcome\":\"rollback\"");
	}

	@Test
	@Order(3)
	void switchMovesTrafficToTheOtherReadyColorAndBack() throws IOException {
		assertThat(harness.run("switch.sh", "green").exitCode()).isZero();
		// nginx may reuse a connection it opened to blue before the switch, on any of the 20 slots, until
		// keepalive_time (5 s) retires it, at worst one idle keepalive_timeout (4 s) later (README)
		await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
			for (int i = 0; i < 20; i++) {
				assertThat(version()).isEqualTo(TestJars.nextVersion());
			}
		});

		ScriptProcess.Result back = harness.run("switch.sh");

		assertThat(back.exitCode()).as("%s", back).isZero();
		assertThat(harness.liveColor()).isEqualTo("blue");
		assertThat(harness.run("switch.sh", "blue").stdout()).contains("blue is already live");
	}

	@Test
	@Order(4)
	void deployRightAfterASwitchDrainsTheWarmIdleColorBeforeStoppingIt() throws IOException {
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 16, true, Duration.ofMillis(5));
		assertThat(harness.run("switch.sh", "green").exitCode()).isZero();

		// blue still holds nginx's keep-alive connections from before the switch when the deploy takes it
		ScriptProcess.Result deploy = harness.run("deploy.sh", TestJars.current().toString());

		LoadGenerator.Result seen = load.stop();
		System.out.printf("deploy right after a switch: %d requests, %d failed%n", seen.total(), seen.failures().size());
		assertThat(deploy.exitCode()).as("%s", deploy).isZero();
		assertThat(deploy.stdout()).contains("stopping blue", "kept from the previous deploy, once drained");
		assertThat(harness.liveColor()).isEqualTo("blue");
		assertThat(seen.failures()).as("failed requests:%s", seen.describeFailures(10)).isEmpty();
	}

	@Test
	@Order(5)
	void stopRefusesTheLiveColorWithoutForce() {
		ScriptProcess.Result refused = harness.run("stop.sh", "blue");

		assertThat(refused.exitCode()).isEqualTo(2);
		assertThat(refused.errorLines()).singleElement().asString().contains("blue is live");
		assertThat(DeployHarness.isRunning(harness.pid("blue"))).isTrue();
	}

	@Test
	@Order(6)
	void switchToAStoppedColorFailsAndTrafficStays() throws IOException {
		long greenPid = harness.pid("green");
		assertThat(harness.run("stop.sh", "green").exitCode()).isZero();
		assertThat(DeployHarness.isRunning(greenPid)).isFalse();

		ScriptProcess.Result refused = harness.run("switch.sh", "green");

		assertThat(refused.exitCode()).isEqualTo(1);
		assertThat(refused.errorLines()).singleElement().asString().contains("green is not running");
		assertThat(version()).isEqualTo(TestJars.version(TestJars.current()));
	}

	@Test
	@Order(7)
	void rollbackWithoutAWarmColorRedeploysThePreviousRelease() throws IOException {
		ScriptProcess.Result forward = harness.run(Map.of("KEEP_OLD", "false"), "deploy.sh", TestJars.next().toString());
		assertThat(forward.exitCode()).as("%s", forward).isZero();
		assertThat(version()).isEqualTo(TestJars.nextVersion());

		ScriptProcess.Result rollback = harness.run(Map.of("KEEP_OLD", "false"), "rollback.sh");

		assertThat(rollback.exitCode()).as("%s", rollback).isZero();
		assertThat(rollback.stdout()).contains("redeploying the previous release");
		assertThat(version()).isEqualTo(TestJars.version(TestJars.current()));
	}

	private static String version() throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
			return connection.get("/api/version", Map.of()).header("X-App-Version");
		}
	}

}
