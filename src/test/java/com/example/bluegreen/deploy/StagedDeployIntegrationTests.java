package com.example.bluegreen.deploy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.LoadGenerator;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The staged-deploy contract (deploy.sh --stage, --promote, --commit, --abort), the reconcile rule, and
 * interruptions: a deploy interrupted before its checks passed ends with the old color live.
 */
class StagedDeployIntegrationTests {

	private static DeployHarness harness;

	@BeforeAll
	static void deployFirstVersion() {
		harness = DeployHarness.deployed("socket");
	}

	@AfterAll
	static void stop() {
		harness.close();
	}

	@Test
	void stagePromoteCommitUnderLoadFailsNothingAndTheStagedColorGetsNoTraffic() throws Exception {
		String live = harness.liveColor();
		String idle = DeployHarness.other(live);
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 16, true, Duration.ofMillis(50));

		LoadGenerator.Result seen;
		try {
			ScriptProcess.Result staged = harness.run("deploy.sh", "--stage", TestJars.next().toString());
			assertThat(staged.exitCode()).as("%s", staged).isZero();
			assertThat(staged.stdout()).contains("staged: " + idle);
			assertThat(DeployHarness.isRunning(harness.pid(idle))).isTrue();
			assertThat(harness.liveColor()).isEqualTo(live);
			assertThat(status()).contains("\"state\":\"staged\"");
			assertThat(harness.answeringColors(20)).as("public traffic while staged").containsOnly(live);
			// While staged, every other command that would move a color is refused, naming the staged deploy.
			for (List<String> command : List.of(List.of("deploy.sh", TestJars.current().toString()), List.of("switch.sh"),
					List.of("rollback.sh"), List.of("stop.sh", idle), List.of("deploy.sh", "--commit"))) {
				ScriptProcess.Result refused = harness.run(command.get(0), command.subList(1, command.size()).toArray(String[]::new));
				assertThat(refused.exitCode()).as("%s", refused).isEqualTo(3);
				assertThat(refused.errorLines()).singleElement().asString().contains("is staged");
			}
			assertThat(harness.liveColor()).isEqualTo(live);
			assertThat(DeployHarness.isRunning(harness.pid(idle))).as("the staged color still runs").isTrue();

			ScriptProcess.Result promoted = harness.run("deploy.sh", "--promote");
			assertThat(promoted.exitCode()).as("%s", promoted).isZero();
			assertThat(harness.liveColor()).isEqualTo(idle);
			assertThat(DeployHarness.isRunning(harness.pid(live))).as("old color kept warm").isTrue();
			assertThat(status()).contains("\"state\":\"promoted\"");

			ScriptProcess.Result committed = harness.run("deploy.sh", "--commit");
			assertThat(committed.exitCode()).as("%s", committed).isZero();
		}
		finally {
			seen = load.stop();
			// A failed step must not leave the shared harness staged or promoted for the next test.
			if (!status().contains("\"deploy\":null")) {
				harness.run("deploy.sh", "--abort");
			}
		}

		assertThat(DeployHarness.isRunning(harness.pid(live))).as("old color stopped").isFalse();
		assertThat(status()).contains("\"deploy\":null");
		assertThat(harness.lastHistory()).contains("\"outcome\":\"success\"", "\"to\":{\"color\":\"" + idle + "\"");
		System.out.printf("stage/promote/commit: %d requests, %d failed%n", seen.total(), seen.failures().size());
		assertThat(seen.total()).isGreaterThan(200);
		assertThat(seen.failures()).as("failed:%s", seen.describeFailures(10)).isEmpty();
	}

	@Test
	void abortWhenPromotedPutsTheOldColorBackAndStopsTheNewOne() throws Exception {
		String live = harness.liveColor();
		long livePid = harness.pid(live);
		assertThat(harness.run("deploy.sh", "--stage", TestJars.next().toString()).exitCode()).isZero();
		assertThat(harness.run("deploy.sh", "--promote").exitCode()).isZero();
		assertThat(harness.liveColor()).isEqualTo(DeployHarness.other(live));
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 8, true, Duration.ofMillis(20));

		ScriptProcess.Result aborted = harness.run("deploy.sh", "--abort");

		LoadGenerator.Result seen = load.stop();
		assertThat(aborted.exitCode()).as("%s", aborted).isZero();
		assertThat(harness.liveColor()).isEqualTo(live);
		assertThat(harness.pid(live)).as("the old color never restarted").isEqualTo(livePid);
		assertThat(DeployHarness.isRunning(harness.pid(DeployHarness.other(live)))).isFalse();
		assertThat(harness.lastHistory()).contains("\"outcome\":\"aborted\"");
		assertThat(seen.failures()).as("failed:%s", seen.describeFailures(10)).isEmpty();
	}

	/**
	 * Jenkins aborting a build (TERM), Ctrl-C (INT), an SSH drop (HUP), and a reader that went away (PIPE), in
	 * the phases before the checks passed: the old color is live again, the new one stopped, exit 1.
	 */
	@ParameterizedTest(name = "deploy when {0} arrives in phase {1}")
	// Each signal once, each phase twice: the handler is one for all signals; HUP and PIPE (whose output
	// goes on to logs/deploy.log) in different phases.
	@CsvSource({ "TERM, verify", "HUP, verify", "INT, bake", "PIPE, bake" })
	void deployInterruptedBeforeItsChecksPassedGoesBackToTheOldColor(String signal, String phase) throws Exception {
		String live = harness.liveColor();
		long livePid = harness.pid(live);
		// A slow verify path keeps the deploy in verify for a few seconds; a bake window keeps it in bake.
		Map<String, String> settings = Map.of("VERIFY_PATH", "/api/slow?ms=1500", "BAKE_TIME", "20");
		String marker = phase.equals("verify") ? "==> verifying" : "==> baking";
		ScriptProcess.Result result;
		if (signal.equals("PIPE")) {
			// The reader of the deploy's output quits at the marker line: the next write meets a closed pipe.
			Path script = Path.of("scripts/deploy.sh").toAbsolutePath();
			result = harness.launch(settings, "/bin/bash", "-c",
					"set -o pipefail; '" + script + "' '" + TestJars.next() + "' 2>&1 | sed '/" + marker + "/q'")
				.waitFor(Duration.ofMinutes(4));
			assertThat(result.exitCode()).as("%s", result).isNotZero();
		}
		else {
			// env --default-signal: a shell started in the background inherits SIGINT ignored, and bash cannot
			// trap a signal ignored on entry; a terminal or Jenkins delivers it with its default action.
			ScriptProcess deploy = harness.launch(settings, "/usr/bin/env", "--default-signal=INT",
					Path.of("scripts/deploy.sh").toAbsolutePath().toString(), TestJars.next().toString());
			deploy.awaitLine(marker, Duration.ofMinutes(3));
			new ProcessBuilder("kill", "-" + signal, Long.toString(deploy.pid())).start().waitFor(10, TimeUnit.SECONDS);
			result = deploy.waitFor(Duration.ofMinutes(3));
			assertThat(result.exitCode()).as("%s", result).isEqualTo(1);
			if (signal.equals("HUP")) {
				// The terminal is gone: what the deploy says from then on goes to logs/deploy.log.
				assertThat(harness.appHome().resolve("logs/deploy.log")).content().contains("SIGHUP");
			}
			else {
				// A signal that lands while a $(...) runs may end the script through set -e first: still undone.
				assertThat(result.errorLines()).anySatisfy((line) -> assertThat(line).containsAnyOf("SIG" + signal,
						"an unexpected failure"));
			}
		}

		assertThat(harness.liveColor()).as("%s", result).isEqualTo(live);
		assertThat(harness.pid(live)).isEqualTo(livePid);
		assertThat(DeployHarness.isRunning(harness.pid(DeployHarness.other(live)))).as("new color stopped").isFalse();
		assertThat(harness.appHome().resolve("state/journal.json")).doesNotExist();
		assertThat(harness.lastHistory()).contains("\"outcome\":\"rolled-back\"");
		assertThat(harness.answeringColors(5)).containsOnly(live);
	}

	@Test
	void rollbackWhenInterruptedBeforeItsCheckPassedKeepsTheVersionThatWasLive() throws Exception {
		ScriptProcess.Result kept = harness.run(Map.of("KEEP_OLD", "true"), "deploy.sh", TestJars.next().toString());
		assertThat(kept.exitCode()).as("%s", kept).isZero();
		String live = harness.liveColor();
		String warm = DeployHarness.other(live);
		long warmPid = harness.pid(warm);

		ScriptProcess rollback = harness.launch(Map.of("VERIFY_PATH", "/api/slow?ms=1500"), "rollback.sh");
		rollback.awaitLine("==> verifying", Duration.ofMinutes(2));
		new ProcessBuilder("kill", "-TERM", Long.toString(rollback.pid())).start().waitFor(10, TimeUnit.SECONDS);
		ScriptProcess.Result result = rollback.waitFor(Duration.ofMinutes(2));

		assertThat(result.exitCode()).as("%s", result).isEqualTo(1);
		assertThat(harness.liveColor()).isEqualTo(live);
		assertThat(harness.pid(warm)).as("the warm color was found running and keeps running").isEqualTo(warmPid);
		assertThat(DeployHarness.isRunning(warmPid)).isTrue();
		assertThat(harness.lastHistory()).contains("\"outcome\":\"rolled-back\"", "SIGTERM");
		assertThat(harness.run("stop.sh", warm).exitCode()).isZero();
	}

	private static String status() {
		return harness.run("status.sh", "--json").stdout();
	}


}
