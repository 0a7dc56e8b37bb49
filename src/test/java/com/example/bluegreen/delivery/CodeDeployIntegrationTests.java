package com.example.bluegreen.delivery;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

import com.example.bluegreen.delivery.LocalCodeDeployAgent.Deployment;
import com.example.bluegreen.support.BackingServices;
import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.FreePorts;
import com.example.bluegreen.support.TestJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The CodeDeploy path for real, without AWS: bundles built as the Jenkinsfile builds them (appspec.yml,
 * scripts/, nginx/ and the jar as app.jar) go through {@link LocalCodeDeployAgent}, which runs the hooks
 * in the agent's order, with its environment and each hook's timeout, against the private nginx
 * ({@code scripts/nginx.sh}, started by ApplicationStart) on free ports and the real jar in two versions.
 * The deployments build on each other (one host, one APP_HOME), so the tests run in order.
 *
 * <p>
 * The host's settings (ports, timeouts) are in APP_HOME/deploy.env, as provisioning would write them; the
 * bundles carry APP_HOME and the settings of their scenario in scripts/deploy.env.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CodeDeployIntegrationTests {

	private static final Path REPOSITORY = Path.of("").toAbsolutePath();

	/** The build directory (target/, or -Dapp.build.directory): where this class and the jar were built. */
	private static final Path BUILD = buildDirectory();

	private static final String V1 = TestJars.version(TestJars.current());

	private static final String V2 = TestJars.nextVersion();

	private static final HttpClient http = HttpClient.newBuilder()
		.version(HttpClient.Version.HTTP_1_1)
		.connectTimeout(Duration.ofSeconds(5))
		.build();

	private static Path work;

	private static Path appHome;

	private static int publicPort;

	private static int bluePort;

	private static Path v1Jar;

	private static Path v2Jar;

	private static LocalCodeDeployAgent agent;

	private static Deployment lastGood;

	@BeforeAll
	static void prepareHost() throws Exception {
		requireTools("nginx", "zip", "unzip", "curl", "setsid", "flock", "ss");
		BackingServices.ensureRunning();
		work = Files.createTempDirectory("codedeploy-it-");
		// nginx's workers (www-data when the tests run as root) must reach the sockets under APP_HOME/run.
		Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
		Path hostRoot = Files.createDirectories(work.resolve("host"));
		appHome = hostRoot.resolve("opt/app");
		v1Jar = copyJar(BUILD.resolve("app.jar"), "v1.jar", V1);
		v2Jar = secondVersion();
		List<Integer> ports = List.of(FreePorts.next(), FreePorts.next(), FreePorts.next());
		publicPort = ports.get(0);
		bluePort = ports.get(1);
		Files.createDirectories(appHome);
		Files.writeString(appHome.resolve("deploy.env"), settings(Map.of("PUBLIC_PORT", ports.get(0), "BLUE_PORT",
				ports.get(1), "GREEN_PORT", ports.get(2), "READY_TIMEOUT", 180, "VERIFY_TIMEOUT", 20, "DRAIN_TIMEOUT",
				20, "STOP_TIMEOUT", 45, "WARMUP_REQUESTS", 2, "JAVA_OPTS",
				"\"" + DeployHarness.TEST_JAVA_OPTS + "\"", "APP_ARGS", "\"" + appArgs() + "\"")));
		Map<String, String> environment = new LinkedHashMap<>();
		environment.put("PATH", System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
		environment.put("HOME", System.getProperty("user.home"));
		environment.put("LANG", "C.UTF-8");
		agent = new LocalCodeDeployAgent(Files.createDirectories(work.resolve("deployment-root")), hostRoot,
				environment);
	}

	@AfterAll
	static void cleanUp() throws Exception {
		if (appHome != null && Files.isDirectory(appHome)) {
			script("stop.sh", "all", "--force");
			script("nginx.sh", "stop");
		}
		LocalCodeDeployAgent.deleteRecursively(work);
	}

	@Test
	@Order(2)
	void firstDeployRunsNoApplicationStopAndServesTheNewVersionThroughNginx() throws Exception {
		Deployment deployment = agent.deploy(bundle("first", v1Jar, Map.of()));

		assertThat(deployment.succeeded()).as("%s", deployment).isTrue();
		assertThat(deployment.events()).containsExactly("BeforeInstall", "Install", "AfterInstall", "ApplicationStart",
				"ValidateService");
		assertThat(deployment.hooks()).allSatisfy((run) -> assertThat(run.script()).startsWith(deployment.archive()));
		assertThat(deployment.output()).contains("ApplicationStart (" + deployment.id() + "): deploying " + V1,
				"ValidateService (" + deployment.id() + "): " + V1 + " serves on blue");
		assertThat(Files.readAllBytes(appHome.resolve("revision/app.jar"))).isEqualTo(Files.readAllBytes(v1Jar));
		assertServes(V1, "blue");
		lastGood = deployment;
	}

	@Test
	@Order(3)
	void secondDeployRunsThePreviousRevisionsApplicationStopAndEndsOnTheNewVersionWithoutAFailedRequest()
			throws Exception {
		// v1 built its fast-start archive in the first deployment; one training run per class is enough.
		Path bundle = bundle("second", v2Jar, Map.of("FAST_START", false));
		Deployment deployment;
		try (Traffic traffic = Traffic.start()) {
			deployment = agent.deploy(bundle);
			traffic.stop();

			assertThat(traffic.failures()).as("requests that failed during the deployment").isEmpty();
			assertThat(traffic.versions()).as("versions that answered, in order").containsExactly(V1, V2);
		}

		assertThat(deployment.succeeded()).as("%s", deployment).isTrue();
		assertThat(deployment.events()).containsExactly("ApplicationStop", "BeforeInstall", "Install", "AfterInstall",
				"ApplicationStart", "ValidateService");
		assertThat(deployment.lastRunByEvent().get("ApplicationStop").script()).startsWith(lastGood.archive());
		assertThat(deployment.output()).contains("blue: running " + V1, "nothing stopped");
		assertServes(V2, "green");
		assertThat(status().at("/colors/blue/state").asString()).isEqualTo("stopped");
		lastGood = deployment;
	}

	@Test
	@Order(4)
	void deployWhoseValidateServiceFailsIsRolledBackAndTrafficStaysOnTheOldVersion() throws Exception {
		// The check asks for a page that does not exist; KEEP_OLD keeps green warm, so the rollback is a switch.
		Path bundle = bundle("failing-validation", v1Jar,
				Map.of("VALIDATE_PATH", "/no-such-page", "VALIDATE_TIMEOUT", 5, "KEEP_OLD", true));
		Deployment deployment;
		try (Traffic traffic = Traffic.start()) {
			deployment = agent.deploy(bundle);
			traffic.stop();

			assertThat(traffic.failures()).as("requests that failed during the deployment").isEmpty();
		}

		assertThat(deployment.succeeded()).as("%s", deployment).isFalse();
		assertThat(deployment.failedEvent()).isEqualTo("ValidateService");
		assertThat(deployment.lastRunByEvent().get("ApplicationStop").script()).startsWith(lastGood.archive());
		assertThat(deployment.output()).contains("validation failed: GET /no-such-page", "rolled back: green is live");
		assertServes(V2, "green");
	}

	@Test
	@Order(5)
	void deployWhoseSettingsOutlastTheHookTimeoutsFailsInBeforeInstallAndChangesNothing() throws Exception {
		Path bundle = bundle("too-slow", v1Jar, Map.of("BAKE_TIME", 300));

		Deployment deployment = agent.deploy(bundle);

		assertThat(deployment.succeeded()).as("%s", deployment).isFalse();
		assertThat(deployment.failedEvent()).isEqualTo("BeforeInstall");
		assertThat(deployment.events()).containsExactly("ApplicationStop", "BeforeInstall");
		assertThat(deployment.output()).contains("ApplicationStart's timeout in appspec.yml is 750s",
				"BAKE_TIME=300");
		assertServes(V2, "green");
	}

	@Test
	@Order(6)
	void agentKillsTheProcessGroupOfAHookThatOverrunsItsTimeout() throws Exception {
		Path bundleDir = Files.createDirectories(work.resolve("bundles/overrun"));
		Path childPid = bundleDir.resolve("child.pid");
		Files.writeString(bundleDir.resolve("appspec.yml"), """
				version: 0.0
				os: linux
				hooks:
				  BeforeInstall:
				    - location: hang.sh
				      timeout: 2
				""");
		Path hang = bundleDir.resolve("hang.sh");
		Files.writeString(hang, "#!/usr/bin/env bash\nsleep 300 &\necho $! > " + childPid + "\nwait\n");
		Files.setPosixFilePermissions(hang, PosixFilePermissions.fromString("rwxr-xr-x"));
		Path zip = bundleDir.resolve("bundle.zip");
		assertThat(run(List.of("zip", "-q", "-r", zip.toString(), "appspec.yml", "hang.sh"), Map.of(), bundleDir)
			.exitCode()).isZero();
		LocalCodeDeployAgent host = new LocalCodeDeployAgent(Files.createDirectories(work.resolve("overrun-root")),
				Files.createDirectories(work.resolve("overrun-host")), Map.of("PATH", System.getenv("PATH")));

		Deployment deployment = host.deploy(zip);

		assertThat(deployment.failedEvent()).isEqualTo("BeforeInstall");
		assertThat(deployment.error()).contains("failed to complete in 2 seconds");
		long child = Long.parseLong(Files.readString(childPid).strip());
		await().atMost(Duration.ofSeconds(15))
			.untilAsserted(() -> assertThat(ProcessHandle.of(child).filter(ProcessHandle::isAlive))
				.as("the hook's child (sleep 300), in the hook's process group").isEmpty());
	}

	@Test
	@Order(7)
	void redeployOfTheLiveJarWithAChangedNginxSettingAppliesTheSetting() throws Exception {
		String upstream = "localhost:" + bluePort;
		Path bundle = bundle("same-jar-new-setting", v2Jar, Map.of("BLUE_UPSTREAM", upstream));

		Deployment deployment = agent.deploy(bundle);

		assertThat(deployment.succeeded()).as("%s", deployment).isTrue();
		assertThat(deployment.output()).contains("this revision changes the nginx config: applying it",
				"already runs on the live color green: nothing to deploy");
		assertThat(Files.readString(appHome.resolve("nginx/conf.d/app.conf"))).contains("server " + upstream);
		assertServes(V2, "green");
	}

	private static void assertServes(String version, String color) throws Exception {
		HttpResponse<String> response = get("/api/version");
		assertThat(response.statusCode()).isEqualTo(200);
		assertThat(response.headers().firstValue("X-App-Version")).contains(version);
		assertThat(response.headers().firstValue("X-App-Color")).contains(color);
		JsonNode body = JsonMapper.builder().build().readTree(response.body());
		assertThat(body.get("deployId").asString()).as("the process the last deploy to %s started", color)
			.isEqualTo(lastDeployTo(color).get("id").asString());
		JsonNode status = status();
		assertThat(status.get("live").asString()).isEqualTo(color);
		assertThat(status.at("/colors/" + color + "/version").asString()).isEqualTo(version);
	}

	private static HttpResponse<String> get(String path) throws IOException, InterruptedException {
		HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + publicPort + path))
			.timeout(Duration.ofSeconds(10))
			.build();
		return http.send(request, HttpResponse.BodyHandlers.ofString());
	}

	private static JsonNode status() throws Exception {
		Result result = script("status.sh", "--json");
		assertThat(result.exitCode()).as("status.sh --json: %s", result.output()).isZero();
		String json = result.stdout().lines().filter((line) -> line.startsWith("{")).reduce((a, b) -> b).orElseThrow();
		return JsonMapper.builder().build().readTree(json);
	}

	/** The last successful deploy to COLOR in deploys.jsonl (a warm rollback switches without a restart). */
	private static JsonNode lastDeployTo(String color) throws IOException {
		JsonMapper json = JsonMapper.builder().build();
		return Files.readAllLines(appHome.resolve("state/deploys.jsonl")).stream()
			.map(json::readTree)
			.filter((deploy) -> deploy.get("outcome").asString().equals("success")
					&& deploy.at("/to/color").asString().equals(color))
			.reduce((first, second) -> second)
			.orElseThrow(() -> new AssertionError("no successful deploy to " + color));
	}

	/**
	 * A bundle with the Jenkinsfile's layout ({@code zip -r bundle.zip appspec.yml scripts nginx} and
	 * {@code zip -j bundle.zip target/app.jar}) from this checkout, with scripts/deploy.env saying where
	 * APP_HOME is, who owns it, and the scenario's settings.
	 */
	private static Path bundle(String name, Path jar, Map<String, Object> scenario) throws Exception {
		Path workspace = Files.createDirectories(work.resolve("bundles").resolve(name));
		Files.copy(REPOSITORY.resolve("appspec.yml"), workspace.resolve("appspec.yml"));
		copyTree(REPOSITORY.resolve("scripts"), workspace.resolve("scripts"));
		copyTree(REPOSITORY.resolve("nginx"), workspace.resolve("nginx"));
		Map<String, Object> settings = new LinkedHashMap<>();
		settings.put("APP_HOME", appHome);
		settings.put("APP_USER", System.getProperty("user.name"));
		settings.putAll(scenario);
		Files.writeString(workspace.resolve("scripts/deploy.env"), settings(settings));
		Path zip = Files.createDirectories(workspace.resolve("target")).resolve("bundle.zip");
		Files.copy(jarZip(jar), zip);
		Result added = run(List.of("zip", "-q", "-r", zip.toString(), "appspec.yml", "scripts", "nginx"), Map.of(),
				workspace);
		assertThat(added.exitCode()).as("zip: %s", added.output()).isZero();
		return zip;
	}

	/** {@code zip -j bundle.zip target/app.jar}, once per jar (compressing 40 MB again is slow here). */
	private static Path jarZip(Path jar) throws Exception {
		Path zip = work.resolve(jar.getFileName() + ".zip");
		if (!Files.exists(zip)) {
			Path appJar = Files.createDirectories(work.resolve("jars").resolve(jar.getFileName().toString()))
				.resolve("app.jar");
			Files.copy(jar, appJar);
			Result zipped = run(List.of("zip", "-q", "-j", zip.toString(), appJar.toString()), Map.of(), work);
			assertThat(zipped.exitCode()).as("zip: %s", zipped.output()).isZero();
		}
		return zip;
	}

	private static void copyTree(Path source, Path target) throws IOException {
		try (Stream<Path> paths = Files.walk(source)) {
			for (Path path : paths.sorted().toList()) {
				Path destination = target.resolve(source.relativize(path).toString());
				if (Files.isDirectory(path)) {
					Files.createDirectories(destination);
				}
				else if (!path.getFileName().toString().equals("deploy.env")) {
					Files.copy(path, destination, StandardCopyOption.COPY_ATTRIBUTES);
				}
			}
		}
	}

	private static String settings(Map<String, ?> settings) {
		return settings.entrySet().stream().map((entry) -> entry.getKey() + "=" + entry.getValue())
			.collect(Collectors.joining("\n", "", "\n"));
	}

	/** Redis and RabbitMQ as the tests see them; the deployed apps do not consume other tests' orders. */
	private static String appArgs() {
		List<String> args = new ArrayList<>(List.of("--spring.rabbitmq.listener.simple.auto-startup=false"));
		for (String property : List.of("spring.data.redis.host", "spring.data.redis.port", "spring.rabbitmq.host",
				"spring.rabbitmq.port")) {
			String value = System.getProperty(property);
			if (value != null) {
				args.add("--" + property + "=" + value);
			}
		}
		return String.join(" ", args);
	}

	/** A copy of the jar in the work directory, checked to be a complete jar of that version. */
	private static Path copyJar(Path jar, String name, String version) throws IOException {
		assertThat(jar).as("%s: build it with ./mvnw package (failsafe runs after package)", jar).isRegularFile();
		Path copy = Files.copy(jar, work.resolve(name));
		assertThat(jarVersion(copy)).as("version of %s", jar).isEqualTo(version);
		return copy;
	}

	private static String jarVersion(Path jar) {
		try (ZipFile zip = new ZipFile(jar.toFile())) {
			var entry = zip.getEntry("META-INF/build-info.properties");
			if (entry == null) {
				return null;
			}
			java.util.Properties properties = new java.util.Properties();
			properties.load(zip.getInputStream(entry));
			return properties.getProperty("build.version");
		}
		catch (IOException ex) {
			return null;
		}
	}

	/** target/v2/app.jar when another test built it, else a build of version 1.0.1 into codedeploy-v2/. */
	private static Path secondVersion() throws IOException {
		return copyJar(TestJars.next(), "v2.jar", V2);
	}

	private static Path buildDirectory() {
		try {
			Path classes = Path.of(CodeDeployIntegrationTests.class.getProtectionDomain().getCodeSource().getLocation()
				.toURI());
			return classes.getParent();
		}
		catch (java.net.URISyntaxException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static void requireTools(String... tools) throws Exception {
		for (String tool : tools) {
			Result which = run(List.of("sh", "-c", "command -v " + tool), Map.of(), REPOSITORY);
			assertThat(which.exitCode()).as("%s is not installed: apt-get install %s (.ci/run installs what the tests need)",
					tool, tool.equals("ss") ? "iproute2" : tool.equals("setsid") || tool.equals("flock") ? "util-linux" : tool)
				.isZero();
		}
	}

	private static Result script(String name, String... args) throws Exception {
		List<String> command = new ArrayList<>();
		command.add(REPOSITORY.resolve("scripts").resolve(name).toString());
		command.addAll(List.of(args));
		return run(command, Map.of("APP_HOME", appHome.toString()), REPOSITORY);
	}

	private static Result run(List<String> command, Map<String, String> environment, Path directory)
			throws IOException, InterruptedException {
		ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile());
		builder.environment().putAll(environment);
		Path stderr = Files.createTempFile("codedeploy-it", ".err");
		try {
			Process process = builder.redirectError(stderr.toFile()).start();
			process.getOutputStream().close();
			String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
			if (!process.waitFor(5, TimeUnit.MINUTES)) {
				process.destroyForcibly();
			}
			return new Result(process.waitFor(), stdout, Files.readString(stderr));
		}
		finally {
			Files.deleteIfExists(stderr);
		}
	}

	private record Result(int exitCode, String stdout, String stderr) {

		String output() {
			return this.stdout + this.stderr;
		}

	}

	/** Requests to /api/version through nginx every 20 ms while a deployment runs: failures and versions seen. */
	private static final class Traffic implements AutoCloseable {

		private static final int MAX_REQUESTS = 100_000;

		private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();

		private final List<String> failures = Collections.synchronizedList(new ArrayList<>());

		private final Set<String> versions = Collections.synchronizedSet(new LinkedHashSet<>());

		private final AtomicInteger requests = new AtomicInteger();

		static Traffic start() {
			Traffic traffic = new Traffic();
			traffic.executor.scheduleWithFixedDelay(traffic::request, 0, 20, TimeUnit.MILLISECONDS);
			return traffic;
		}

		private void request() {
			if (this.requests.incrementAndGet() > MAX_REQUESTS) {
				this.executor.shutdown();
				return;
			}
			try {
				HttpResponse<String> response = get("/api/version");
				if (response.statusCode() != 200) {
					this.failures.add(response.statusCode() + " " + response.body());
				}
				response.headers().firstValue("X-App-Version").ifPresent(this.versions::add);
			}
			catch (IOException ex) {
				this.failures.add(ex.toString());
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}

		void stop() throws InterruptedException {
			this.executor.shutdown();
			this.executor.awaitTermination(30, TimeUnit.SECONDS);
		}

		List<String> failures() {
			return List.copyOf(this.failures);
		}

		List<String> versions() {
			return List.copyOf(this.versions);
		}

		@Override
		public void close() throws InterruptedException {
			stop();
		}

	}

}
