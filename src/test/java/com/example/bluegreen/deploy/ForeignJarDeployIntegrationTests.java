package com.example.bluegreen.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.FreePorts;
import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.LoadGenerator;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Jars that are not this template's: the plain app of src/test/apps/plain built with Boot 4 and with Boot 3,
 * TCP only. In socket mode nginx reaches them through its relay (nginx/conf.d/relay.conf): a switch is
 * still a symlink rename, nginx is never reloaded, and no request fails. The same jar in reload mode, in
 * the same run, loses requests on busy keep-alive connections: counted and printed.
 */
class ForeignJarDeployIntegrationTests {

	private static final Map<String, String> PLAIN = Map.of("VERIFY_PATH", "/api/version", "WARMUP_PATHS", "/api/version");

	private static final int CLIENTS = 16;

	@Test
	void aBootFourJarDeploysFiveTimesThroughTheRelayWithNoFailedRequestAndNoReload() throws Exception {
		Path jar = TestJars.plain(4);
		try (DeployHarness harness = DeployHarness.start("socket", PLAIN)) {
			deploy(harness, jar);
			List<Long> workers = nginxWorkers(harness);
			LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), CLIENTS, true, DeploySeries.pace(),
					LoadGenerator.Mix.PLAIN);

			for (int i = 1; i <= 5; i++) {
				String live = harness.liveColor();
				long oldPid = harness.pid(live);
				String color = DeployHarness.other(live);
				ScriptProcess.Result result = deploy(harness, jar);

				assertThat(result.output()).as("deploy %d", i)
					.contains(color + " does not listen on APP_SOCKET_PATH: nginx relays");
				assertThat(Files.readSymbolicLink(harness.appHome().resolve("run/live.sock")))
					.isEqualTo(Path.of("relay-" + color + ".sock"));
				assertThat(harness.answeringColors(3)).as("X-App-Color named by the relay").containsOnly(color);
				assertThat(DeployHarness.isRunning(oldPid)).as("old %s process %d gone", live, oldPid).isFalse();
				assertThat(appSockets(harness)).as("sockets the app made itself").isEmpty();
			}

			LoadGenerator.Result result = load.stop();
			System.out.println(report("plain Boot 4 jar, socket mode through nginx's relay, 5 deploys", result));
			assertThat(result.total()).isGreaterThan(1000);
			assertThat(result.failures()).as("failed requests:%s", result.describeFailures(20)).isEmpty();
			assertThat(nginxWorkers(harness)).as("nginx's workers (a reload would replace them)").isEqualTo(workers);
			assertThat(harness.lastHistory()).contains("\"outcome\":\"success\"");
		}
	}

	@Test
	void theSameJarInReloadModeLosesOnlyKeepAliveRequestsToReloads() {
		Path jar = TestJars.plain(4);
		try (DeployHarness harness = DeployHarness.start("reload", PLAIN)) {
			deploy(harness, jar);
			LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), CLIENTS, true, DeploySeries.pace(),
					LoadGenerator.Mix.PLAIN);
			for (int i = 0; i < 3; i++) {
				deploy(harness, jar);
			}
			LoadGenerator.Result result = load.stop();
			System.out.println(report("plain Boot 4 jar, reload mode, 3 deploys", result));
			assertThat(result.total()).isGreaterThan(500);
			assertThat(result.failures()).as("keep-alive failures are I/O errors from reloads, never HTTP errors")
				.allSatisfy((failure) -> assertThat(failure.status()).isEqualTo(-1));
		}
	}

	@Test
	void aBootThreeJarIsReadyThroughTheProbesTheDeployTurnsOn() throws Exception {
		Path jar = TestJars.plain(3);
		assertThat(readinessStatusOfAPlainStart(jar)).as("Boot 3 outside Kubernetes: no readiness group of its own")
			.isEqualTo(404);
		try (DeployHarness harness = DeployHarness.start("socket", PLAIN)) {
			ScriptProcess.Result first = deploy(harness, jar);
			assertThat(first.output()).contains("waiting for blue to be ready: http://127.0.0.1:" + harness.port("blue")
					+ "/actuator/health/readiness");
			LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), CLIENTS, true, DeploySeries.pace(),
					LoadGenerator.Mix.PLAIN);

			ScriptProcess.Result second = deploy(harness, jar);

			LoadGenerator.Result result = load.stop();
			System.out.println(report("plain Boot 3 jar, socket mode through nginx's relay, 1 deploy", result));
			assertThat(second.output()).contains("green does not listen on APP_SOCKET_PATH: nginx relays");
			assertThat(harness.answeringColors(3)).containsOnly("green");
			assertThat(result.failures()).as("failed requests:%s", result.describeFailures(20)).isEmpty();
		}
	}

	private static ScriptProcess.Result deploy(DeployHarness harness, Path jar) {
		ScriptProcess.Result result = harness.run("deploy.sh", jar.toString());
		assertThat(result.exitCode()).as("deploy: %s", result).isZero();
		return result;
	}

	/** The readiness status of the jar started with java -jar and nothing else, once it answers at all. */
	private static int readinessStatusOfAPlainStart(Path jar) throws IOException {
		int port = FreePorts.next();
		Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
				"-XX:TieredStopAtLevel=1", "-jar", jar.toString(), "--server.port=" + port)
			.redirectErrorStream(true)
			.redirectOutput(ProcessBuilder.Redirect.DISCARD)
			.start();
		try {
			await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
				.until(() -> status(port, "/actuator/health") == 200);
			return status(port, "/actuator/health/readiness");
		}
		finally {
			process.destroy();
		}
	}

	private static int status(int port, String path) {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", port)) {
			return connection.get(path, Map.of()).status();
		}
		catch (IOException ex) {
			return -1;
		}
	}

	/** Unix sockets in run/ that are not nginx's (its relays) or the live pointer's links. */
	private static List<Path> appSockets(DeployHarness harness) throws IOException {
		try (Stream<Path> files = Files.list(harness.appHome().resolve("run"))) {
			// nginx's links (live, standby, preview) and its relay's sockets are not the app's
			return files.filter((file) -> file.getFileName().toString().endsWith(".sock"))
				.filter((file) -> !Files.isSymbolicLink(file))
				.filter((file) -> !file.getFileName().toString().matches("relay-(blue|green)\\.sock"))
				.toList();
		}
	}

	private static List<Long> nginxWorkers(DeployHarness harness) throws IOException {
		long master = Long.parseLong(Files.readString(harness.appHome().resolve("nginx/nginx.pid")).trim());
		return ProcessHandle.of(master).orElseThrow().children().map(ProcessHandle::pid).sorted().toList();
	}

	private static String report(String name, LoadGenerator.Result result) {
		return String.format("%s, %d keep-alive clients (GET + 10%% POST, no retries): %d failed of %d requests; p50/p99 %.1f/%.1f ms",
				name, CLIENTS, result.failures().size(), result.total(), result.percentileMillis(50, (nanos) -> true),
				result.percentileMillis(99, (nanos) -> true));
	}

}
