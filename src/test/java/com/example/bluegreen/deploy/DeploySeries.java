package com.example.bluegreen.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.LoadGenerator;
import com.example.bluegreen.support.LocalServices;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import io.lettuce.core.api.StatefulRedisConnection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Consecutive deploys alternating two versions under load, checked the way a user would notice a deploy:
 * each deploy exits 0, the version and color flip, the old process is gone, a long request in flight
 * during the switch gets its 200, a session keeps counting, and every accepted order is processed.
 */
final class DeploySeries {

	private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

	private static final Pattern TARGET_COLOR = Pattern.compile(" to (blue|green), ");

	private final DeployHarness harness;

	private final List<long[]> switchWindows = new ArrayList<>();

	private final List<String> phaseLines = new ArrayList<>();

	DeploySeries(DeployHarness harness) {
		this.harness = harness;
	}

	/** Deploys the first version: blue goes live. */
	void firstDeploy() {
		ScriptProcess.Result first = this.harness.run("deploy.sh", TestJars.current().toString());
		assertThat(first.exitCode()).as("first deploy: %s", first).isZero();
	}

	/** Runs {@code count} deploys, alternating the two versions; asserts each one. */
	void run(int count) throws Exception {
		Path current = TestJars.current();
		Path next = TestJars.next();
		String cookie = null;
		int visits = 0;
		for (int i = 0; i < count; i++) {
			Path jar = (i % 2 == 0) ? next : current;
			String live = this.harness.liveColor();
			long oldPid = this.harness.pid(live);
			long idleBefore = this.harness.pid(DeployHarness.other(live));
			ScriptProcess deploy = this.harness.launch("deploy.sh", jar.toString());
			Matcher target = TARGET_COLOR.matcher(deploy.awaitLine(" to (blue|green), ", Duration.ofSeconds(30)).text());
			assertThat(target.find()).isTrue();
			String color = target.group(1);
			assertThat(color).isEqualTo(DeployHarness.other(live));
			// START_NICE (10): the starting JVM yields the CPU to the live color until its warm-up ends: its
			// session's autogroup, and as root its threads too (polled: the process exists a moment before
			// it is niced and execs java)
			long newPid = awaitNewProcess(color, idleBefore);
			await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
				assertThat(autogroupNice(newPid)).as("autogroup nice of %s while it starts", color).isEqualTo(10);
				assertThat(niceValues(newPid)).as("nice of %s's threads while it starts", color)
					.containsOnly(ROOT ? 10 : 0);
			});

			// Once the new color is ready, a long request starts on the old one and must outlive the switch.
			awaitReady(color);
			CompletableFuture<HttpConnection.Response> longRequest = CompletableFuture.supplyAsync(() -> {
				try (HttpConnection connection = new HttpConnection("127.0.0.1", this.harness.publicPort())) {
					return connection.get("/api/slow?ms=6000", Map.of());
				}
				catch (IOException ex) {
					throw new IllegalStateException("the long request failed: " + ex, ex);
				}
			});

			ScriptProcess.Result result = deploy.waitFor(Duration.ofMinutes(5));
			assertThat(result.exitCode()).as("deploy %d: %s", i + 1, result).isZero();
			this.switchWindows.add(new long[] { result.timeOf("==> switching nginx"), result.endedNanos() });
			this.phaseLines.add(result.lines().get(result.lines().size() - 1).text());
			assertThat(longRequest.get(30, TimeUnit.SECONDS).status()).as("long request during deploy %d", i + 1)
				.isEqualTo(200);

			HttpConnection.Response version = visit("/api/version", null);
			assertThat(version.header("X-App-Color")).as("color after deploy %d", i + 1).isEqualTo(color);
			assertThat(version.header("X-App-Version")).isEqualTo(TestJars.version(jar));
			assertThat(DeployHarness.isRunning(oldPid)).as("old %s process %d gone", live, oldPid).isFalse();
			assertThat(niceValues(newPid)).as("nice of %s's threads once it serves", color).containsOnly(0);
			assertThat(autogroupNice(newPid)).as("autogroup nice of %s once it serves", color).isZero();

			// A visitor who comes back after each deploy keeps the same session.
			HttpConnection.Response session = visit("/api/visits", cookie);
			if (cookie == null) {
				cookie = session.header("Set-Cookie").split(";")[0];
			}
			visits++;
			assertThat(session.body()).as("session after deploy %d", i + 1).contains("\"visits\":" + visits);
		}
	}

	private HttpConnection.Response visit(String path, String cookie) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", this.harness.publicPort())) {
			return connection.get(path, (cookie != null) ? Map.of("Cookie", cookie) : Map.of());
		}
	}

	/** The color's new JVM (its pid file names a running process other than {@code before}). */
	private long awaitNewProcess(String color, long before) {
		return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).ignoreExceptions()
			.until(() -> this.harness.pid(color), (pid) -> pid > 0 && pid != before && DeployHarness.isRunning(pid));
	}

	/** The nice value of the process's autogroup ("/autogroup-N nice V" in /proc/PID/autogroup). */
	static int autogroupNice(long pid) throws IOException {
		String line = Files.readString(Path.of("/proc/" + pid + "/autogroup")).trim();
		return Integer.parseInt(line.substring(line.lastIndexOf(' ') + 1));
	}

	/** The nice value of each thread of the process (field 19 of /proc/PID/task/TID/stat). */
	static List<Integer> niceValues(long pid) throws IOException {
		List<Integer> values = new ArrayList<>();
		try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
			for (Path task : tasks.toList()) {
				try {
					String stat = Files.readString(task.resolve("stat"));
					values.add(Integer.parseInt(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16]));
				}
				catch (NoSuchFileException ex) {
					// a thread that ended meanwhile
				}
			}
		}
		return values;
	}

	private void awaitReady(String color) {
		await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(100)).until(() -> {
			try (HttpConnection direct = new HttpConnection("127.0.0.1", this.harness.port(color))) {
				return direct.get("/actuator/health/readiness", Map.of()).status() == 200;
			}
			catch (IOException ex) {
				return false;
			}
		});
	}

	/** Every order the API accepted (202) has been processed: its record is in Redis (written once, SET NX). */
	void assertOrdersProcessed(List<String> accepted) {
		try (StatefulRedisConnection<String, String> redis = LocalServices.redis()) {
			await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
				List<String> missing = new ArrayList<>();
				for (int from = 0; from < accepted.size(); from += 500) {
					List<String> batch = accepted.subList(from, Math.min(accepted.size(), from + 500));
					String[] keys = batch.stream().map((id) -> "bluegreen:orders:processed:" + id).toArray(String[]::new);
					if (redis.sync().exists(keys) < keys.length) {
						batch.stream().filter((id) -> redis.sync().exists("bluegreen:orders:processed:" + id) == 0).forEach(missing::add);
					}
				}
				assertThat(missing).as("accepted orders not processed").isEmpty();
			});
		}
	}

	/** Sent during a switch: from the switch line to the end of that deploy (verify, drain, stop). */
	LongPredicate duringSwitches() {
		return (nanos) -> this.switchWindows.stream().anyMatch((window) -> nanos >= window[0] && nanos <= window[1]);
	}

	LongPredicate outsideSwitches() {
		return duringSwitches().negate();
	}

	/** The report line of one load: totals, failures, latency during and outside switches. */
	String report(String name, LoadGenerator.Result load) {
		return String.format("%s: %d requests, %d failed; p50/p99 %.1f/%.1f ms outside switches (%d), %.1f/%.1f ms during (%d)",
				name, load.total(), load.failures().size(), load.percentileMillis(50, outsideSwitches()),
				load.percentileMillis(99, outsideSwitches()), load.count(outsideSwitches()),
				load.percentileMillis(50, duringSwitches()), load.percentileMillis(99, duringSwitches()),
				load.count(duringSwitches()));
	}

	List<String> summaries() {
		return this.phaseLines;
	}

	static Duration pace() {
		return Duration.ofMillis(200);
	}

}
