package com.example.bluegreen.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.LoadGenerator;
import com.example.bluegreen.support.ScriptLibrary;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The failures a line-by-line review of the scripts found, one scenario each: what the script does, that
 * it says why in one line, and that traffic keeps flowing.
 */
class DeployHardeningIntegrationTests {

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
	void nginxStartWhenItsPidFileNamesAnotherProcess() throws Exception {
		Path pidFile = harness.appHome().resolve("nginx/nginx.pid");
		assertThat(harness.run("nginx.sh", "stop").exitCode()).isZero();
		Process stranger = new ProcessBuilder("sleep", "300").start();
		try {
			Files.writeString(pidFile, stranger.pid() + "\n");

			ScriptProcess.Result deploy = harness.run("deploy.sh", TestJars.next().toString());
			assertThat(deploy.exitCode()).as("%s", deploy).isEqualTo(2);
			assertThat(deploy.errorLines()).singleElement().asString().contains("nginx is not running");
			assertThat(harness.run("nginx.sh", "stop").stdout()).contains("nginx is not running");
			assertThat(stranger.isAlive()).as("nginx.sh stop left the stranger alone").isTrue();

			ScriptProcess.Result start = harness.run("nginx.sh", "start");
			assertThat(start.exitCode()).as("%s", start).isZero();
			assertThat(Files.readString(pidFile).trim()).isNotEqualTo(Long.toString(stranger.pid()));
			assertThat(stranger.isAlive()).as("nginx.sh start did not signal the stranger").isTrue();
			assertThat(harness.answeringColors(3)).containsOnly(harness.liveColor());
		}
		finally {
			stranger.destroy();
			harness.run("nginx.sh", "start");
		}
	}

	@Test
	void deployWhenTheDiskFillsDuringTheCopyInstallsNothingAndTheNextDeploySucceeds() throws Exception {
		try (DeployHarness fresh = DeployHarness.start("socket")) {
			// A file size limit of 20 MB: the 40 MB jar's copy into releases/ is cut short, as on a full disk.
			Path script = Path.of("scripts/deploy.sh").toAbsolutePath();
			ScriptProcess.Result full = fresh.launch("/bin/bash", "-c", "ulimit -f 20000; exec '" + script + "' '"
					+ TestJars.current() + "'").waitFor(Duration.ofMinutes(3));

			assertThat(full.exitCode()).as("%s", full).isEqualTo(1);
			assertThat(full.errorLines()).anySatisfy((line) -> assertThat(line).contains("could not be installed"));
			assertThat(full.stderr()).contains("cannot copy app.jar");
			try (Stream<Path> releases = Files.list(fresh.appHome().resolve("releases"))) {
				assertThat(releases).as("no release left behind").isEmpty();
			}
			assertThat(fresh.liveColor()).isEmpty();

			ScriptProcess.Result next = fresh.run("deploy.sh", TestJars.current().toString());
			assertThat(next.exitCode()).as("%s", next).isZero();

			// A release damaged after its install (its jar replaced by a truncated copy) is installed again.
			Path jar;
			try (Stream<Path> releases = Files.list(fresh.appHome().resolve("releases"))) {
				jar = releases.findFirst().orElseThrow().resolve("app.jar");
			}
			Path truncated = jar.resolveSibling("truncated");
			Files.write(truncated, Files.readAllBytes(jar), java.nio.file.StandardOpenOption.CREATE);
			try (var channel = java.nio.channels.FileChannel.open(truncated, java.nio.file.StandardOpenOption.WRITE)) {
				channel.truncate(Files.size(jar) / 2);
			}
			Files.move(truncated, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
			ScriptProcess.Result again = fresh.run("deploy.sh", TestJars.current().toString());
			assertThat(again.exitCode()).as("%s", again).isZero();
			assertThat(again.stderr()).contains("is damaged");
			try (Stream<Path> releases = Files.list(fresh.appHome().resolve("releases"))) {
				assertThat(releases.map((release) -> release.resolve("app.jar")).toList()).singleElement()
					.satisfies((installed) -> assertThat(installed).hasSameBinaryContentAs(TestJars.current()));
			}
		}
	}

	@Test
	void statusWhenAppHomeIsSpelledAnotherWaySeesTheSameRunningColors() throws Exception {
		String live = harness.liveColor();
		Path link = Files.createTempDirectory("bluegreen-link-").resolve("home");
		Files.createSymbolicLink(link, harness.appHome());
		try {
			for (String spelling : List.of(harness.appHome() + "/", link.toString(),
					harness.appHome() + "/../" + harness.appHome().getFileName())) {
				ScriptProcess.Result status = harness.run(Map.of("APP_HOME", spelling), "status.sh", "--json");
				assertThat(status.exitCode()).as("%s", status).isZero();
				assertThat(status.stdout()).as("APP_HOME=%s", spelling)
					.contains("\"" + live + "\":{\"pid\":" + harness.pid(live) + ",\"state\":\"running\"");
				ScriptProcess.Result stop = harness.run(Map.of("APP_HOME", spelling), "stop.sh", live);
				assertThat(stop.exitCode()).as("the live color is recognised as ours: %s", stop).isEqualTo(2);
			}
			assertThat(DeployHarness.isRunning(harness.pid(live))).isTrue();
		}
		finally {
			Files.delete(link);
			Files.delete(link.getParent());
		}
	}

	@Test
	void nginxStartKilledAtAnyMomentLeavesAWholeConfig() throws Exception {
		Path conf = harness.appHome().resolve("nginx/nginx.conf");
		for (int i = 0; i < 20; i++) {
			ScriptProcess start = harness.launch("nginx.sh", "start");
			long delay = ThreadLocalRandom.current().nextLong(50, 400);
			ProcessHandle handle = ProcessHandle.of(start.pid()).orElseThrow();
			try {
				handle.onExit().get(delay, TimeUnit.MILLISECONDS);
			}
			catch (TimeoutException ex) {
				handle.destroyForcibly();
			}
			start.waitFor(Duration.ofSeconds(10));
			ScriptProcess.Result test = harness.run("nginx.sh", "test");
			assertThat(test.exitCode()).as("after a kill %d ms into nginx.sh start: %s", delay, test).isZero();
			assertThat(conf).exists();
		}
		assertThat(harness.run("nginx.sh", "start").exitCode()).isZero();
		assertThat(harness.answeringColors(3)).containsOnly(harness.liveColor());
	}

	@Test
	void nginxStartWhenADeployHoldsTheLockExitsThree() throws Exception {
		// -o: flock itself holds the lock (not the sleep it runs), so stopping flock releases it.
		Process holder = new ProcessBuilder("flock", "-o", harness.appHome().resolve("state/lock").toString(), "sleep", "60")
			.start();
		try {
			org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> harness.run("nginx.sh", "render").exitCode() == 3);
			ScriptProcess.Result render = harness.run("nginx.sh", "render");
			assertThat(render.errorLines()).singleElement().asString().contains("another deploy is running");
		}
		finally {
			holder.destroy();
			holder.waitFor(10, TimeUnit.SECONDS);
		}
	}

	@Test
	void stopRightAfterASwitchDrainsTheColorFirstAndFailsNoRequest() {
		assertThat(harness.run(Map.of("KEEP_OLD", "true"), "deploy.sh", TestJars.next().toString()).exitCode()).isZero();
		String live = harness.liveColor();
		String warm = DeployHarness.other(live);
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 16, true, Duration.ofMillis(10));
		try {
			sleepWhileLoaded(2);
			ScriptProcess.Result switched = harness.run("switch.sh", warm);
			assertThat(switched.exitCode()).as("%s", switched).isZero();
			ScriptProcess.Result stopped = harness.run("stop.sh", live);
			assertThat(stopped.exitCode()).as("%s", stopped).isZero();
			sleepWhileLoaded(1);
		}
		finally {
			LoadGenerator.Result seen = load.stop();
			System.out.printf("switch then stop: %d requests, %d failed%n", seen.total(), seen.failures().size());
			assertThat(seen.failures()).as("failed:%s", seen.describeFailures(10)).isEmpty();
		}
		assertThat(harness.liveColor()).isEqualTo(warm);
		assertThat(DeployHarness.isRunning(harness.pid(live))).isFalse();
	}

	@Test
	void firstDeployInReloadModeFailingAfterTheSwitchLeavesNginxPointingAtNothing() throws Exception {
		try (DeployHarness fresh = DeployHarness.start("reload")) {
			// Every verify request outlasts curl's 5 s, the verify window is 1 s: the check fails after the switch.
			ScriptProcess.Result result = fresh.run(Map.of("VERIFY_PATH", "/api/slow?ms=6000", "VERIFY_TIMEOUT", "1"),
					"deploy.sh", TestJars.current().toString());

			assertThat(result.exitCode()).as("%s", result).isEqualTo(1);
			assertThat(Files.readString(fresh.appHome().resolve("nginx/active.conf"))).contains("app-live")
				.doesNotContain("app-blue", "app-green");
			assertThat(fresh.liveColor()).isEmpty();
			assertThat(DeployHarness.isRunning(fresh.pid("blue"))).isFalse();
			try (HttpConnection connection = new HttpConnection("127.0.0.1", fresh.publicPort())) {
				assertThat(connection.get("/api/version", Map.of()).status()).isEqualTo(502);
			}
		}
	}

	@Test
	void deployWhenTheAccessLogIsRotatedDuringTheBakeStillCountsTheErrors() throws Exception {
		String live = harness.liveColor();
		LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 8, true, Duration.ofMillis(20));
		// The new version answers every POST /api/orders with 503 (no broker confirm in time).
		ScriptProcess deploy = harness.launch(Map.of("BAKE_TIME", "12", "APP_ARGS", "--app.orders.confirm-timeout=0s"),
				"deploy.sh", TestJars.next().toString());
		deploy.awaitLine("==> baking", Duration.ofMinutes(3));
		Path log = harness.appHome().resolve("nginx/logs/access.log");
		Files.move(log, log.resolveSibling("access.log.1"));
		long master = Long.parseLong(Files.readString(harness.appHome().resolve("nginx/nginx.pid")).trim());
		new ProcessBuilder("kill", "-USR1", Long.toString(master)).start().waitFor(10, TimeUnit.SECONDS);

		ScriptProcess.Result result = deploy.waitFor(Duration.ofMinutes(3));
		load.stop();

		assertThat(result.exitCode()).as("%s", result).isEqualTo(1);
		assertThat(result.errorLines()).singleElement().asString().contains("5xx during the bake window");
		assertThat(harness.liveColor()).isEqualTo(live);
		assertThat(log).exists();
	}

	@Test
	void secretsReachTheColorsOnlyThroughTheirEnvironmentFile() throws Exception {
		String marker = "marker-" + UUID.randomUUID();
		Path appEnv = harness.appHome().resolve("app.env");
		Files.writeString(appEnv, "# the app's secrets\nAPP_TEST_SECRET=" + marker + "\nSPRING_RABBITMQ_PASSWORD=guest\n");
		Files.setPosixFilePermissions(appEnv, PosixFilePermissions.fromString("rw-------"));
		try {
			ScriptProcess.Result deploy = harness.run(Map.of("TRACE", "1"), "deploy.sh", TestJars.next().toString());
			assertThat(deploy.exitCode()).as("%s", deploy).isZero();
			String live = harness.liveColor();
			long pid = harness.pid(live);
			assertThat(deploy.output()).as("TRACE=1 output").doesNotContain(marker);
			assertThat(Files.readString(Path.of("/proc/" + pid + "/cmdline"))).doesNotContain(marker, "guest");
			assertThat(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/environ")))).contains("APP_TEST_SECRET=" + marker);
			Path colorEnv = harness.appHome().resolve("run/" + live + ".env");
			assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(colorEnv))).isEqualTo("rw-------");

			Files.setPosixFilePermissions(appEnv, PosixFilePermissions.fromString("rw-r--r--"));
			ScriptProcess.Result readable = harness.run("deploy.sh", TestJars.current().toString());
			assertThat(readable.exitCode()).as("%s", readable).isEqualTo(2);
			assertThat(readable.errorLines()).singleElement().asString().contains("app.env holds secrets", "0600");
			assertThat(harness.liveColor()).isEqualTo(live);
		}
		finally {
			Files.deleteIfExists(appEnv);
		}
	}

	@Test
	void deployWhenItsDeployEnvIsWritableByOthersRefusesToLoadIt() throws Exception {
		Path deployEnv = harness.appHome().resolve("deploy.env");
		Files.writeString(deployEnv, "KEEP_OLD=false\n");
		Files.setPosixFilePermissions(deployEnv, PosixFilePermissions.fromString("rw-rw-r--"));
		try {
			ScriptProcess.Result result = harness.run("deploy.sh", TestJars.current().toString());

			assertThat(result.exitCode()).as("%s", result).isEqualTo(2);
			assertThat(result.errorLines()).singleElement().asString().contains("deploy.env is writable by others");
		}
		finally {
			Files.delete(deployEnv);
		}
	}

	@Test
	void deployWhenToolsAreMissingOrNotGnuNamesEachOne() throws Exception {
		Path bin = Files.createTempDirectory("bluegreen-path-");
		try {
			// Everything of /usr/bin and /usr/sbin but jq and flock; a date that is not GNU's.
			for (String dir : List.of("/usr/bin", "/usr/sbin")) {
				try (Stream<Path> tools = Files.list(Path.of(dir))) {
					for (Path tool : tools.toList()) {
						String name = tool.getFileName().toString();
						if (!Set.of("jq", "flock", "date").contains(name) && !Files.exists(bin.resolve(name))) {
							Files.createSymbolicLink(bin.resolve(name), tool);
						}
					}
				}
			}
			Path date = bin.resolve("date");
			Files.writeString(date, "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'date (BSD)'; exit 0; }\nexec /usr/bin/date \"$@\"\n");
			Files.setPosixFilePermissions(date, PosixFilePermissions.fromString("rwxr-xr-x"));

			ScriptProcess.Result result = harness.run(Map.of("PATH", bin.toString()), "deploy.sh", TestJars.next().toString());

			assertThat(result.exitCode()).as("%s", result).isEqualTo(2);
			assertThat(result.errorLines()).containsExactlyInAnyOrder(
					"deploy.sh: error: jq is not installed (Debian/Ubuntu package: jq)",
					"deploy.sh: error: flock is not installed (Debian/Ubuntu package: util-linux)",
					"deploy.sh: error: date is not GNU coreutils (the scripts use its GNU options; install coreutils)");
		}
		finally {
			try (Stream<Path> files = Files.list(bin)) {
				for (Path file : files.toList()) {
					Files.delete(file);
				}
			}
			Files.delete(bin);
		}
	}

	@Test
	void deployWhenJavaHangsStaysWithinItsWorstCase() throws Exception {
		// A java whose -version takes 3 s and whose jar extraction never ends: the probe is bounded by
		// JAVA_PROBE_TIMEOUT, the fast-start work by FAST_START_TIMEOUT, and the deploy starts the jar plain.
		Path dir = Files.createTempDirectory("bluegreen-slow-java-");
		Path java = dir.resolve("java");
		String realJava = Path.of(System.getProperty("java.home"), "bin", "java").toString();
		Files.writeString(java, "#!/bin/bash\ncase \" $* \" in\n  *\" -version \"*) sleep 3 ;;\n"
				+ "  *-Djarmode=tools*) exec sleep 1000 ;;\nesac\nexec '" + realJava + "' \"$@\"\n");
		Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
		try {
			for (String probeTimeout : List.of("1", "10")) {
				Map<String, String> settings = Map.of("JAVA_BIN", java.toString(), "FAST_START", "true",
						"FAST_START_TIMEOUT", "4", "JAVA_PROBE_TIMEOUT", probeTimeout, "DRAIN_TIMEOUT", "10",
						"STOP_TIMEOUT", "20", "READY_TIMEOUT", "90", "VERIFY_TIMEOUT", "10");
				Map<String, String> all = new java.util.HashMap<>(settings);
				all.put("APP_HOME", harness.appHome().toString());
				int worstCase = ScriptLibrary.worstCase("deploy", all);
				long started = System.nanoTime();

				ScriptProcess.Result result = harness.run(settings, "deploy.sh", TestJars.next().toString());

				long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
				System.out.printf("deploy with a hanging java (JAVA_PROBE_TIMEOUT=%s): %d s, worst case %d s%n",
						probeTimeout, seconds, worstCase);
				assertThat(result.exitCode()).as("%s", result).isZero();
				assertThat(result.output()).contains("fast start off");
				assertThat(seconds).isLessThanOrEqualTo(worstCase);
				harness.run("stop.sh", DeployHarness.other(harness.liveColor()));
			}
		}
		finally {
			Files.delete(java);
			Files.delete(dir);
		}
	}

	private static void sleepWhileLoaded(int seconds) {
		org.awaitility.Awaitility.await().pollDelay(Duration.ofSeconds(seconds)).until(() -> true);
	}


}
