package com.example.bluegreen.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The nginx service of docker-compose.yml without Docker: its start script (the compose file's command,
 * with compose's {@code $$} unescaped) runs here against this checkout's nginx/ templates, with the
 * container's paths moved into a temp directory, and the installed nginx tests the rendered config
 * ({@code nginx -t}, as the script itself does). Then the switch command documented at the top of the
 * compose file moves the live pointer.
 */
class ComposeNginxIntegrationTests {

	private static final Path REPOSITORY = Path.of("").toAbsolutePath();

	private static final Pattern SWITCH = Pattern.compile("docker compose exec nginx sh -c '([^']+)'");

	@Test
	void nginxServiceRendersAConfigThatNginxAcceptsAndTheDocumentedSwitchMovesTheLivePointer(@TempDir Path root)
			throws Exception {
		Path run = Files.createDirectories(root.resolve("app/run"));
		String script = container(nginxCommand(), root).replace("exec nginx", "echo would exec nginx");

		Result start = sh(script);

		assertThat(start.exitCode()).as("the nginx service's start script:\n%s", start.output()).isZero();
		assertThat(start.output()).contains("test is successful", "would exec nginx -c " + root + "/etc/nginx/bluegreen/nginx.conf");
		assertThat(Files.readSymbolicLink(run.resolve("live.sock"))).isEqualTo(Path.of("blue.sock"));
		String app = Files.readString(root.resolve("etc/nginx/bluegreen/conf.d/app.conf"));
		assertThat(app).doesNotContainPattern("@[A-Z_]+@")
			.contains("server unix:" + run + "/live.sock ", "server unix:" + run + "/blue.sock ",
					"server unix:" + run + "/green.sock ", "listen 18080;");

		Result again = sh(script);

		assertThat(again.exitCode()).as("a restart of the container:\n%s", again.output()).isZero();

		Matcher documented = SWITCH.matcher(Files.readString(REPOSITORY.resolve("docker-compose.yml")));
		assertThat(documented.find()).as("the switch command in docker-compose.yml").isTrue();
		Result switched = sh(container(documented.group(1), root));

		assertThat(switched.exitCode()).as("the switch:\n%s", switched.output()).isZero();
		assertThat(Files.readSymbolicLink(run.resolve("live.sock"))).isEqualTo(Path.of("green.sock"));
		assertThat(sh(script).exitCode()).isZero();
		assertThat(Files.readSymbolicLink(run.resolve("live.sock"))).as("kept across a restart")
			.isEqualTo(Path.of("green.sock"));
	}

	@SuppressWarnings("unchecked")
	private static String nginxCommand() throws IOException {
		try (InputStream in = Files.newInputStream(REPOSITORY.resolve("docker-compose.yml"))) {
			Map<String, Object> compose = new Yaml().load(in);
			Map<String, Object> nginx = (Map<String, Object>) ((Map<String, Object>) compose.get("services")).get("nginx");
			assertThat(nginx.get("entrypoint")).isEqualTo(List.of("/bin/sh", "-euc"));
			return String.join("\n", (List<String>) nginx.get("command"));
		}
	}

	/**
	 * The container's view moved under ROOT: the mounted templates are this checkout's nginx/, /app and
	 * /etc/nginx live under ROOT, the public port is 18080 (tested, never bound), and the workers' user is
	 * this host's (the image's nginx user does not exist here).
	 */
	private static String container(String command, Path root) {
		String user = System.getProperty("user.name").equals("root") ? "user www-data;" : "";
		return command.replace("$$", "$")
			.replace("/etc/nginx/templates-bluegreen", REPOSITORY.resolve("nginx").toString())
			.replace("/etc/nginx/bluegreen", root + "/etc/nginx/bluegreen")
			.replace("s|@APP_HOME@|/app|g", "s|@APP_HOME@|" + root + "/app|g")
			.replace("/app/run", root + "/app/run")
			.replace("s|@PUBLIC_PORT@|8080|g", "s|@PUBLIC_PORT@|18080|g")
			.replace("s|@USER_DIRECTIVE@|user nginx nginx;|g", "s|@USER_DIRECTIVE@|" + user + "|g");
	}

	private static Result sh(String script) throws IOException, InterruptedException {
		Process process = new ProcessBuilder("/bin/sh", "-euc", script).redirectErrorStream(true).start();
		process.getOutputStream().close();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
		return new Result(process.exitValue(), output);
	}

	private record Result(int exitCode, String output) {
	}

}
