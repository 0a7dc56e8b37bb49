package com.example.bluegreen.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.Yaml;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docker-compose.yml, the Dockerfile and .dockerignore, read and checked against the app's configuration
 * and the nginx templates (no Docker engine here: this is structure; CodeDeployIntegrationTests and the
 * README's compose commands are where things run).
 */
class ComposeTests {

	private static final Path REPOSITORY = Path.of("").toAbsolutePath();

	private static final List<String> COLORS = List.of("blue", "green");

	@Test
	void composeDefinesTheBackingServicesBothColorsAndNginx() {
		assertThat(services().keySet()).containsExactlyInAnyOrder("redis", "rabbitmq", "app-blue", "app-green", "nginx");
	}

	@Test
	void everyServiceHasAHealthcheck() {
		services().forEach((name, service) -> assertThat(map(service.get("healthcheck")).get("test"))
			.as("healthcheck of %s", name).isNotNull());
	}

	@Test
	void servicesStartOnlyOnceWhatTheyNeedIsHealthy() {
		services().forEach((name, service) -> {
			Map<String, Object> dependsOn = map(service.get("depends_on"));
			dependsOn.forEach((dependency, condition) -> assertThat(map(condition)).as("%s -> %s", name, dependency)
				.containsEntry("condition", "service_healthy"));
		});
		for (String color : COLORS) {
			assertThat(map(service("app-" + color).get("depends_on"))).containsOnlyKeys("redis", "rabbitmq");
		}
		assertThat(map(service("nginx").get("depends_on"))).containsOnlyKeys("app-blue");
	}

	@Test
	void upStartsBlueAndGreenOnlyForADeploy() {
		assertThat(service("app-green").get("profiles")).isEqualTo(List.of("green"));
		services().forEach((name, service) -> {
			if (!name.equals("app-green")) {
				assertThat(service).as(name).doesNotContainKey("profiles");
			}
		});
	}

	@Test
	void onlyNginxIsPublishedBeyondLoopback() {
		assertThat(service("nginx").get("ports")).isEqualTo(List.of("8080:8080"));
		Map<String, List<String>> loopbackOnly = Map.of("redis", List.of("127.0.0.1:6379:6379"), "rabbitmq",
				List.of("127.0.0.1:5672:5672", "127.0.0.1:15672:15672"), "app-blue", List.of("127.0.0.1:8081:8081"),
				"app-green", List.of("127.0.0.1:8082:8082"));
		loopbackOnly.forEach((name, ports) -> assertThat(service(name).get("ports")).as(name).isEqualTo(ports));
	}

	@ParameterizedTest
	@ValueSource(strings = { "blue", "green" })
	void eachColorRunsItsProfileOnItsPortAndSocketWithTheBackingServices(String color) throws IOException {
		Map<String, Object> app = service("app-" + color);
		Map<String, Object> environment = map(app.get("environment"));
		String port = String.valueOf(map(yaml(REPOSITORY.resolve("src/main/resources/application-" + color + ".yml"))
			.get("server")).get("port"));

		assertThat(environment).containsEntry("SPRING_PROFILES_ACTIVE", color)
			.containsEntry("SERVER_PORT", port)
			.containsEntry("SERVER_ADDRESS", "0.0.0.0")
			.containsEntry("SPRING_DATA_REDIS_HOST", "redis")
			.containsEntry("SPRING_RABBITMQ_HOST", "rabbitmq")
			.containsEntry("APP_SOCKET_PATH", "/app/run/" + color + ".sock");
		assertThat(map(app.get("healthcheck")).get("test")).asString()
			.contains("http://127.0.0.1:" + port + "/actuator/health/readiness");
		assertThat(app.get("volumes")).isEqualTo(List.of("run:/app/run"));
		assertThat(app.get("image")).asString().startsWith("bluegreen:");
		assertThat(app).containsEntry("build", ".");
	}

	@Test
	void colorsGetMoreTimeToStopThanSpringsGracefulShutdown() throws IOException {
		Map<String, Object> spring = map(yaml(REPOSITORY.resolve("src/main/resources/application.yml")).get("spring"));
		Duration phase = duration(String.valueOf(map(spring.get("lifecycle")).get("timeout-per-shutdown-phase")));

		for (String color : COLORS) {
			assertThat(duration(String.valueOf(service("app-" + color).get("stop_grace_period")))).as(color)
				.isGreaterThan(phase);
		}
	}

	@Test
	void nginxRunsTheRepositorysTemplatesWithEveryTokenRendered() throws IOException {
		Map<String, Object> nginx = service("nginx");
		String script = String.join("\n", list(nginx.get("command")));

		assertThat(nginx.get("volumes")).asString().contains("./nginx:/etc/nginx/templates-bluegreen:ro",
				"run:/app/run");
		assertThat(nginx.get("image")).asString().startsWith("nginx:");
		for (String token : templateTokens()) {
			assertThat(script).as("the nginx service's render of @%s@", token).contains("s|@" + token + "@|");
		}
		assertThat(script).contains("s|@APP_HOME@|/app|g", "unix:/app/run/blue.sock", "unix:/app/run/green.sock",
				"ln -s blue.sock /app/run/live.sock", "nginx -c \"$$out/nginx.conf\" -t");
		assertThat(Files.readString(REPOSITORY.resolve("nginx/conf.d/app.conf")))
			.contains("server unix:@APP_HOME@/run/live.sock ");
	}

	@Test
	void composeFileDocumentsTheBlueGreenSwitch() throws IOException {
		String compose = Files.readString(REPOSITORY.resolve("docker-compose.yml"));

		assertThat(compose).contains("docker compose up -d --wait", "docker compose up -d --no-deps --wait app-green",
				"ln -sfn green.sock /app/run/.live.sock.new && mv -Tf /app/run/.live.sock.new /app/run/live.sock",
				"docker compose stop app-blue");
	}

	@Test
	void imageIsBuiltInStagesAndRunsTheLayeredJarAsANonRootUser() throws IOException {
		List<String> lines = Files.readAllLines(REPOSITORY.resolve("Dockerfile")).stream()
			.filter((line) -> !line.startsWith("#"))
			.toList();
		List<String> froms = lines.stream().filter((line) -> line.startsWith("FROM ")).toList();
		List<String> runtime = lines.subList(lines.indexOf(froms.get(froms.size() - 1)), lines.size());
		String dockerfile = String.join("\n", lines);

		assertThat(froms).hasSizeGreaterThanOrEqualTo(2);
		assertThat(froms.get(0)).contains("-jdk").endsWith(" AS build");
		Matcher jre = Pattern.compile("FROM eclipse-temurin:(\\d+)-jre").matcher(froms.get(froms.size() - 1));
		assertThat(jre.find()).as("runtime on a Temurin JRE: %s", froms.get(froms.size() - 1)).isTrue();
		assertThat(Integer.parseInt(jre.group(1))).isGreaterThanOrEqualTo(17);
		assertThat(dockerfile).contains("./mvnw -B -q package -DskipTests",
				"java -Djarmode=tools -jar app.jar extract --layers --launcher");
		assertThat(runtime).filteredOn((line) -> line.startsWith("USER "))
			.singleElement()
			.satisfies((user) -> assertThat(user).doesNotContain("root").isNotEqualTo("USER 0").doesNotStartWith("USER 0:"));
		assertThat(String.join("\n", runtime)).contains("HEALTHCHECK", "/actuator/health/readiness",
				"ENTRYPOINT [\"java\", \"org.springframework.boot.loader.launch.JarLauncher\"]",
				"install -d -o app -g \"${NGINX_GID}\" -m 2750 /app/run");
		for (String layer : List.of("dependencies", "spring-boot-loader", "snapshot-dependencies", "application")) {
			assertThat(runtime).contains("COPY --from=extract /extract/extracted/" + layer + "/ ./");
		}
	}

	@Test
	void buildContextHoldsOnlyWhatTheBuildNeeds() throws IOException {
		List<String> patterns = Files.readAllLines(REPOSITORY.resolve(".dockerignore")).stream()
			.filter((line) -> !line.isBlank() && !line.startsWith("#"))
			.toList();

		assertThat(patterns.get(0)).isEqualTo("*");
		assertThat(patterns.subList(1, patterns.size())).allSatisfy((pattern) -> assertThat(pattern).startsWith("!"))
			.contains("!mvnw", "!pom.xml", "!src/main/")
			.noneSatisfy((pattern) -> assertThat(pattern).contains("target"));
	}

	private static Set<String> templateTokens() throws IOException {
		Set<String> tokens = new TreeSet<>();
		Pattern token = Pattern.compile("@([A-Z_]+)@");
		try (Stream<Path> files = Files.walk(REPOSITORY.resolve("nginx"))) {
			for (Path file : files.filter((path) -> path.toString().endsWith(".conf")).toList()) {
				for (String line : Files.readAllLines(file)) {
					Matcher matcher = token.matcher(line.replaceFirst("#.*", ""));
					while (matcher.find()) {
						tokens.add(matcher.group(1));
					}
				}
			}
		}
		assertThat(tokens).contains("APP_HOME", "NGINX_DIR", "PUBLIC_PORT");
		return tokens;
	}

	private static Duration duration(String value) {
		Matcher matcher = Pattern.compile("(\\d+)(ms|s|m)").matcher(value.strip());
		assertThat(matcher.matches()).as("a duration: %s", value).isTrue();
		long amount = Long.parseLong(matcher.group(1));
		return switch (matcher.group(2)) {
			case "ms" -> Duration.ofMillis(amount);
			case "m" -> Duration.ofMinutes(amount);
			default -> Duration.ofSeconds(amount);
		};
	}

	private static Map<String, Object> service(String name) {
		return services().get(name);
	}

	private static Map<String, Map<String, Object>> services() {
		try {
			Map<String, Map<String, Object>> services = new LinkedHashMap<>();
			map(yaml(REPOSITORY.resolve("docker-compose.yml")).get("services"))
				.forEach((name, service) -> services.put(name, map(service)));
			return services;
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static Map<String, Object> yaml(Path file) throws IOException {
		try (InputStream in = Files.newInputStream(file)) {
			return map(new Yaml().load(in));
		}
	}

	@SuppressWarnings("unchecked")
	private static Map<String, Object> map(Object value) {
		return (value != null) ? (Map<String, Object>) value : Map.of();
	}

	@SuppressWarnings("unchecked")
	private static List<String> list(Object value) {
		return (value != null) ? (List<String>) value : List.of();
	}

}
