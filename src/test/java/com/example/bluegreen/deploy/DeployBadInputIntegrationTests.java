package com.example.bluegreen.deploy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.LoadGenerator;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Bad input: each case exits 2 or 3 (or 1 for a version that never gets ready) with one line that says
 * what and why, changes nothing, and the live color keeps serving the load without a failed request.
 */
class DeployBadInputIntegrationTests {

	private static DeployHarness harness;

	private LoadGenerator load;

	private Snapshot before;

	@TempDir
	Path temp;

	@BeforeAll
	static void deployFirstVersion() {
		harness = DeployHarness.start("socket");
		ScriptProcess.Result first = harness.run("deploy.sh", TestJars.current().toString());
		assertThat(first.exitCode()).as("%s", first).isZero();
	}

	@AfterAll
	static void stop() {
		harness.close();
	}

	@BeforeEach
	void startLoad() {
		this.before = Snapshot.take();
		this.load = new LoadGenerator("127.0.0.1", harness.publicPort(), 4, true, Duration.ofMillis(50));
	}

	@AfterEach
	void trafficKeptFlowing() {
		LoadGenerator.Result result = this.load.stop();
		assertThat(result.total()).isPositive();
		assertThat(result.failures()).as("failed requests:%s", result.describeFailures(10)).isEmpty();
	}

	@Test
	void deployWhenTheJarIsMissing() {
		assertRefused(harness.run("deploy.sh", this.temp.resolve("nope.jar").toString()), 2, "nope.jar: no such file");
	}

	@Test
	void deployWhenTheJarIsEmpty() throws IOException {
		Path empty = Files.createFile(this.temp.resolve("empty.jar"));
		assertRefused(harness.run("deploy.sh", empty.toString()), 2, "empty file");
	}

	@Test
	void deployWhenTheJarIsCorrupt() throws IOException {
		Path corrupt = Files.write(this.temp.resolve("corrupt.jar"), "PK\u0003\u0004 not really a zip".getBytes());
		assertRefused(harness.run("deploy.sh", corrupt.toString()), 2, "not a jar");
	}

	@Test
	void deployWhenTheFileIsNotABootJar() throws IOException {
		Path plain = jar("plain.jar", null, "com/example/Main.class");
		assertRefused(harness.run("deploy.sh", plain.toString()), 2, "not a Spring Boot jar");
	}

	@Test
	void deployWhenTheJarHasNoActuator() throws IOException {
		Path noActuator = jar("no-actuator.jar", "com.example.Main", "BOOT-INF/lib/spring-boot-4.0.7.jar");
		assertRefused(harness.run("deploy.sh", noActuator.toString()), 2, "has no Spring Boot actuator");
	}

	@Test
	void switchWhenTheColorIsUnknown() {
		assertRefused(harness.run("switch.sh", "purple"), 2, "unknown color 'purple'");
	}

	@Test
	void stopWhenTheColorIsUnknown() {
		assertRefused(harness.run("stop.sh", "purple"), 2, "unknown color 'purple'");
	}

	@Test
	void deployWhenTheIdlePortIsHeldByAForeignProcess() throws IOException {
		String idle = DeployHarness.other(this.before.live());
		try (ServerSocket foreign = new ServerSocket(harness.port(idle), 50, InetAddress.getLoopbackAddress())) {
			assertRefused(harness.run("deploy.sh", TestJars.current().toString()), 2,
					"port " + harness.port(idle) + " (" + idle + ") is held by another process");
		}
	}

	@Test
	void deployWhenTheNginxConfigFailsTheTest() throws IOException {
		Path config = harness.appHome().resolve("nginx/conf.d/app.conf");
		String original = Files.readString(config);
		Files.writeString(config, original + "\nthis_is_not_a_directive on;\n");
		ScriptProcess.Result result;
		try {
			result = harness.run("deploy.sh", TestJars.current().toString());
		}
		finally {
			Files.writeString(config, original);
		}
		assertRefused(result, 2, "nginx config fails nginx -t");
	}

	@Test
	void deployWhenAppHomeIsNotWritable() {
		assertRefused(harness.run(Map.of("APP_HOME", "/proc/1/bluegreen"), "deploy.sh", TestJars.current().toString()),
				2, "APP_HOME=/proc/1/bluegreen is not writable");
	}

	@Test
	void deployWhenNginxIsMissing() {
		assertRefused(harness.run(Map.of("NGINX_BIN", "/nonexistent/nginx"), "deploy.sh", TestJars.current().toString()),
				2, "nginx not found at NGINX_BIN=/nonexistent/nginx");
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', value = { "BLUE_PORT | abc | BLUE_PORT=abc is not a port number",
			"GREEN_PORT | 70000 | GREEN_PORT=70000 is not a port number",
			"READY_TIMEOUT | soon | READY_TIMEOUT=soon is not a whole number",
			"SWITCH_MODE | magic | SWITCH_MODE=magic: use socket or reload" })
	void deployWhenASettingIsInvalid(String name, String value, String message) {
		assertRefused(harness.run(Map.of(name, value), "deploy.sh", TestJars.current().toString()), 2, message);
	}

	@Test
	void deployWhenBothColorsHaveTheSamePort() {
		assertRefused(harness.run(Map.of("GREEN_PORT", harness.setting("BLUE_PORT")), "deploy.sh",
				TestJars.current().toString()), 2, "BLUE_PORT and GREEN_PORT are both");
	}

	@Test
	void deployWhenDeployEnvHasASyntaxError() throws IOException {
		Path deployEnv = harness.appHome().resolve("deploy.env");
		Files.writeString(deployEnv, "READY_TIMEOUT=30\nJAVA_OPTS=\"-Xmx256m\n");
		ScriptProcess.Result result;
		try {
			result = harness.run("deploy.sh", TestJars.current().toString());
		}
		finally {
			Files.delete(deployEnv);
		}
		assertRefused(result, 2, "deploy.env has a syntax error");
	}

	@Test
	void deployWhenAnotherDeployHoldsTheLock() {
		ScriptProcess first = harness.launch("deploy.sh", TestJars.current().toString());
		first.awaitLine("==> starting", Duration.ofSeconds(30));

		long started = System.nanoTime();
		ScriptProcess.Result second = harness.run("deploy.sh", TestJars.current().toString());
		Duration took = Duration.ofNanos(System.nanoTime() - started);

		System.out.printf("two deploys at once: the second exited %d after %d ms%n", second.exitCode(), took.toMillis());
		assertThat(second.exitCode()).as("%s", second).isEqualTo(3);
		assertThat(second.errorLines()).singleElement().asString().contains("another deploy is running");
		// At once: before anything else, while the first deploy's JVM takes both cores (879 ms seen so).
		assertThat(took).as("the second deploy exits at once").isLessThan(Duration.ofSeconds(2));
		assertThat(first.waitFor(Duration.ofMinutes(5)).exitCode()).isZero();
		this.before = Snapshot.take();
	}

	@Test
	void deployWhenTheNewVersionNeverBecomesReady() {
		// Redis on a port where nothing listens: the app starts, its readiness stays DOWN.
		ScriptProcess.Result result = harness.run(Map.of("APP_ARGS", "--spring.data.redis.port=1", "READY_TIMEOUT", "45"),
				"deploy.sh", TestJars.current().toString());

		String idle = DeployHarness.other(this.before.live());
		assertThat(result.exitCode()).as("%s", result).isEqualTo(1);
		assertThat(result.errorLines()).singleElement().asString().contains(idle + " not ready within READY_TIMEOUT=45s");
		assertThat(result.stderr()).as("the new color's last log lines").contains("Redis is not reachable");
		assertThat(DeployHarness.isRunning(harness.pid(idle))).as("new process stopped").isFalse();
		assertThat(Snapshot.take().live()).isEqualTo(this.before.live());
		assertThat(Snapshot.take().livePid()).isEqualTo(this.before.livePid());
		assertThat(harness.run("status.sh", "--json").stdout()).contains("\"outcome\":\"failed\"");
	}

	private void assertRefused(ScriptProcess.Result result, int exitCode, String message) {
		assertThat(result.exitCode()).as("%s", result).isEqualTo(exitCode);
		assertThat(result.errorLines()).as("one error line").singleElement().asString().contains(message);
		assertThat(Snapshot.take()).as("nothing changed").isEqualTo(this.before);
	}

	private Path jar(String name, String startClass, String entry) throws IOException {
		Manifest manifest = new Manifest();
		manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
		if (startClass != null) {
			manifest.getMainAttributes().putValue("Start-Class", startClass);
		}
		Path jar = this.temp.resolve(name);
		try (OutputStream out = Files.newOutputStream(jar); JarOutputStream zip = new JarOutputStream(out, manifest)) {
			zip.putNextEntry(new ZipEntry(entry));
			zip.write(new byte[] { 1, 2, 3 });
			zip.closeEntry();
		}
		return jar;
	}

	/** What a refused command must leave as it was: the live color and process, the releases, the history. */
	private record Snapshot(String live, long livePid, List<String> releases, long historyLines) {

		static Snapshot take() {
			String live = harness.liveColor();
			try (Stream<Path> releases = Files.list(harness.appHome().resolve("releases"))) {
				Path history = harness.appHome().resolve("state/deploys.jsonl");
				return new Snapshot(live, harness.pid(live), releases.map(Path::toString).sorted().toList(),
						Files.exists(history) ? Files.readAllLines(history).size() : 0);
			}
			catch (IOException ex) {
				throw new IllegalStateException(ex);
			}
		}

	}

}
