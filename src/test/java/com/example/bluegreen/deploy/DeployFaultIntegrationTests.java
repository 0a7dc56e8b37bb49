package com.example.bluegreen.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.LoadGenerator;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** When something breaks during or after a deploy: traffic keeps flowing and the state stays consistent. */
class DeployFaultIntegrationTests {

	private static DeployHarness harness;

	@BeforeAll
	static void deployFirstVersion() {
		harness = DeployHarness.start("socket");
		assertThat(harness.run("deploy.sh", TestJars.current().toString()).exitCode()).isZero();
	}

	@AfterAll
	static void stop() {
		harness.close();
	}

	@Test
	void newVersionFailingRightAfterTheSwitchIsRolledBackWithinTheBakeWindow() {
		String live = harness.liveColor();
		long livePid = harness.pid(live);
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 8, true, Duration.ofMillis(50));

		// The new version is ready, but its order publishing is broken: every POST /api/orders answers 503.
		ScriptProcess.Result result = harness.run(
				Map.of("BAKE_TIME", "15", "APP_ARGS", "--app.orders.confirm-timeout=0s"), "deploy.sh",
				TestJars.next().toString());

		LoadGenerator.Result seen = load.stop();
		assertThat(result.exitCode()).as("%s", result).isEqualTo(1);
		assertThat(result.errorLines()).singleElement().asString().contains("5xx during the bake window");
		assertThat(harness.liveColor()).as("switched back").isEqualTo(live);
		assertThat(harness.pid(live)).as("the old color was kept warm").isEqualTo(livePid);
		assertThat(DeployHarness.isRunning(livePid)).isTrue();
		assertThat(DeployHarness.isRunning(harness.pid(DeployHarness.other(live)))).as("new color stopped").isFalse();
		assertThat(lastHistoryLine()).contains("\"outcome\":\"rolled-back\"", "5xx during the bake window");
		List<LoadGenerator.Sample> failures = seen.failures();
		System.out.printf("bake rollback: %d requests, %d failed (all POST 503 from the broken version during the bake window)%n",
				seen.total(), failures.size());
		assertThat(failures).as("only the broken version's POSTs failed")
			.allSatisfy((failure) -> assertThat(failure.kind() + " " + failure.status()).isEqualTo("order 503"));
	}

	@Test
	void killingTheLiveJvmFailsOverToTheOtherColor() throws Exception {
		ScriptProcess.Result kept = harness.run(Map.of("KEEP_OLD", "true"), "deploy.sh", TestJars.next().toString());
		assertThat(kept.exitCode()).as("%s", kept).isZero();
		String live = harness.liveColor();
		String standby = DeployHarness.other(live);
		assertThat(DeployHarness.isRunning(harness.pid(standby))).as("old color kept warm").isTrue();
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 16, true, Duration.ofMillis(50));
		long before = countServedBy(standby);

		new ProcessBuilder("kill", "-KILL", Long.toString(harness.pid(live))).start().waitFor(10, TimeUnit.SECONDS);
		await().atMost(Duration.ofSeconds(30)).until(() -> countServedBy(standby) > before + 200);

		LoadGenerator.Result seen = load.stop();
		List<LoadGenerator.Sample> getFailures = seen.failures().stream().filter((f) -> !f.kind().equals("order")).toList();
		long postFailures = seen.failures().size() - getFailures.size();
		System.out.printf("SIGKILL of the live JVM: %d requests, %d GET failed, %d POST failed%n", seen.total(),
				getFailures.size(), postFailures);
		assertThat(getFailures).as("GETs failed:%s", seen.describeFailures(10)).isEmpty();
		new DeploySeries(harness).assertOrdersProcessed(seen.acceptedOrders());

		// A deploy now starts from the surviving color: it becomes live first, then the dead slot is redeployed.
		ScriptProcess.Result redeploy = harness.run("deploy.sh", TestJars.current().toString());
		assertThat(redeploy.exitCode()).as("%s", redeploy).isZero();
		assertThat(redeploy.stderr()).contains("live " + live + " was not running: switched nginx to " + standby);
		assertThat(harness.liveColor()).isEqualTo(live);
	}

	@Test
	void longRequestInFlightDuringADeployGets200AndTheOldColorOutlivesIt() throws Exception {
		String live = harness.liveColor();
		CompletableFuture<Long> longRequest = CompletableFuture.supplyAsync(() -> {
			try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
				HttpConnection.Response response = connection.get("/api/slow?ms=25000", Map.of());
				assertThat(response.status()).isEqualTo(200);
				assertThat(response.header("X-App-Color")).isEqualTo(live);
				return System.nanoTime();
			}
			catch (IOException ex) {
				throw new IllegalStateException("the long request failed: " + ex, ex);
			}
		});
		awaitConnections(live, 1);

		ScriptProcess.Result result = harness.run("deploy.sh", TestJars.next().toString());

		assertThat(result.exitCode()).as("%s", result).isZero();
		long answered = longRequest.get(60, TimeUnit.SECONDS);
		assertThat(result.timeOf("==> stopping " + live)).as("the old color is stopped after the long request ended")
			.isGreaterThan(answered);
	}

	@ParameterizedTest
	@ValueSource(strings = { "==> deploying", "==> waiting for", "==> verifying", "==> draining" })
	void deployKilledMidwayIsReconciledByTheNextRun(String killedAt) throws Exception {
		String liveBefore = harness.liveColor();
		CompletableFuture<Void> inFlight = null;
		if (killedAt.contains("draining")) {
			// A request in flight on the old color keeps the drain going long enough to be killed in it.
			inFlight = CompletableFuture.runAsync(() -> {
				try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
					connection.get("/api/slow?ms=15000", Map.of());
				}
				catch (IOException ex) {
					throw new IllegalStateException(ex);
				}
			});
			awaitConnections(liveBefore, 1);
		}
		ScriptProcess deploy = harness.launch("deploy.sh", TestJars.next().toString());
		deploy.awaitLine(killedAt, Duration.ofMinutes(3));
		ProcessHandle.of(deploy.pid()).ifPresent(ProcessHandle::destroyForcibly);
		await().atMost(Duration.ofSeconds(10)).until(() -> !deploy.isAlive());

		// status.sh only reads: it shows the interrupted deploy and leaves it; status.sh --repair ends it.
		Path journal = harness.appHome().resolve("state/journal.json");
		// (A child of the killed script, e.g. its curl, may hold the lock for a moment: "is running" until then.)
		await().atMost(Duration.ofSeconds(15))
			.untilAsserted(() -> assertThat(harness.run("status.sh").stdout()).contains("was interrupted in phase"));
		assertThat(journal).exists();
		await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(1)).until(() -> {
			harness.run("status.sh", "--repair");
			return !Files.exists(journal);
		});

		// The reconcile rule: before its checks passed, back to the old color; after (draining), finished.
		String live = harness.liveColor();
		assertThat(live).isEqualTo(killedAt.contains("draining") ? DeployHarness.other(liveBefore) : liveBefore);
		long livePid = harness.pid(live);
		assertThat(DeployHarness.isRunning(livePid)).as("live %s runs", live).isTrue();
		assertThat(colorProcesses()).as("exactly one color runs, the live one").containsExactly(livePid);
		assertThat(harness.appHome().resolve("run/" + DeployHarness.other(live) + ".pid")).doesNotExist();
		assertThat(lastHistoryLine()).contains("\"outcome\":\"interrupted\"");
		try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
			assertThat(connection.get("/api/version", Map.of()).header("X-App-Color")).isEqualTo(live);
		}
		if (inFlight != null) {
			inFlight.get(60, TimeUnit.SECONDS);
		}
	}

	/** Pids of the java processes started for this APP_HOME (the deploy's markers on their command line). */
	private static List<Long> colorProcesses() throws IOException {
		String marker = "-Dbluegreen.home=" + harness.appHome();
		List<Long> pids = new ArrayList<>();
		try (Stream<Path> processes = Files.list(Path.of("/proc"))) {
			for (Path process : processes.filter((p) -> p.getFileName().toString().matches("\\d+")).toList()) {
				long pid = Long.parseLong(process.getFileName().toString());
				try {
					String cmdline = Files.readString(process.resolve("cmdline")).replace('\0', ' ');
					if (cmdline.contains(marker + " ") && DeployHarness.isRunning(pid)) {
						pids.add(pid);
					}
				}
				catch (IOException ex) {
					// the process ended meanwhile
				}
			}
		}
		return pids;
	}

	/** Waits until nginx holds at least {@code count} connections to the color's socket. */
	private static void awaitConnections(String color, int count) {
		Path socket = harness.appHome().resolve("run/" + color + ".sock");
		await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
			ScriptProcess.Result ss = ScriptProcess
				.start(Path.of("/usr/bin/ss"), Map.of(), "-Hx", "state", "established", "src", socket.toString())
				.waitFor(Duration.ofSeconds(10));
			return ss.stdout().lines().count() >= count;
		});
	}

	/** Requests the access log shows as served by that color's socket (as nginx's backup, standby.sock). */
	private static long countServedBy(String color) throws IOException {
		Path log = harness.appHome().resolve("nginx/logs/access.log");
		try (Stream<String> lines = Files.lines(log)) {
			return lines.filter((line) -> line.contains("standby.sock") && line.contains("\" 200 ")).count();
		}
	}

	private static String lastHistoryLine() {
		try {
			List<String> lines = Files.readAllLines(harness.appHome().resolve("state/deploys.jsonl"));
			return lines.get(lines.size() - 1);
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

}
