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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The preview port (PREVIEW_PORT): in both switch modes the staged color answers there once it is ready,
 * while the public port never reaches it (a first deploy: 502; later, under keep-alive load, only the live
 * color answers); after --abort the preview has no color.
 */
class PreviewIntegrationTests {

	@ParameterizedTest
	@ValueSource(strings = { "socket", "reload" })
	void theStagedColorAnswersOnThePreviewPortAndPublicTrafficNeverReachesIt(String mode) throws IOException {
		int previewPort = FreePorts.next();
		try (DeployHarness harness = DeployHarness.start(mode, Map.of("PREVIEW_PORT", Integer.toString(previewPort)))) {
			// A first deploy staged: the preview has it, the public port nothing yet.
			ScriptProcess.Result first = harness.run("deploy.sh", "--stage", TestJars.current().toString());
			assertThat(first.exitCode()).as("%s", first).isZero();
			assertThat(preview(previewPort).status()).isEqualTo(200);
			assertThat(get(harness.publicPort()).status()).as("the public port before the first promote").isEqualTo(502);
			for (String step : List.of("--promote", "--commit")) {
				ScriptProcess.Result result = harness.run("deploy.sh", step);
				assertThat(result.exitCode()).as("%s", result).isZero();
			}
			String live = harness.liveColor();
			String staged = DeployHarness.other(live);
			LoadGenerator load = new LoadGenerator("127.0.0.1", harness.publicPort(), 8, true, Duration.ofMillis(50));

			ScriptProcess.Result stage = harness.run("deploy.sh", "--stage", TestJars.next().toString());
			assertThat(stage.exitCode()).as("%s", stage).isZero();
			HttpConnection.Response preview = preview(previewPort);
			assertThat(preview.status()).as("%s", preview).isEqualTo(200);
			assertThat(preview.header("X-App-Color")).isEqualTo(staged);
			assertThat(preview.body()).contains(TestJars.nextVersion());
			assertThat(harness.run("status.sh", "--json").stdout())
				.contains("\"preview\":{\"url\":\"http://127.0.0.1:" + previewPort + "/\",\"color\":\"" + staged + "\"}");
			assertThat(harness.answeringColors(20)).as("public traffic while staged").containsOnly(live);

			ScriptProcess.Result abort = harness.run("deploy.sh", "--abort");
			assertThat(abort.exitCode()).as("%s", abort).isZero();
			LoadGenerator.Result seen = load.stop();
			assertThat(harness.liveColor()).isEqualTo(live);
			assertThat(DeployHarness.isRunning(harness.pid(staged))).as("the aborted staged color stopped").isFalse();
			assertThat(harness.lastHistory()).contains("\"outcome\":\"aborted\"");
			assertThat(preview(previewPort).status()).as("the preview once the staged color is stopped").isEqualTo(502);

			System.out.printf("preview (%s mode): staged %s answered on the preview port; public: %d requests, %d failed%n",
					mode, staged, seen.total(), seen.failures().size());
			assertThat(seen.failures()).as("failed:%s", seen.describeFailures(10)).isEmpty();
			// Every public request nginx logged (the load's and the probes'), by the color that answered.
			assertThat(Files.readAllLines(harness.appHome().resolve("nginx/logs/access.log")))
				.as("public requests answered by the staged color").noneMatch((line) -> line.endsWith("color=" + staged))
				.anyMatch((line) -> line.endsWith("color=" + live));
		}
	}

	@Test
	void withoutPreviewPortNginxHasNoPreviewServer() throws IOException {
		try (DeployHarness harness = DeployHarness.start("socket")) {
			List<Path> previews;
			try (Stream<Path> files = Files.walk(harness.appHome().resolve("nginx"))) {
				previews = files.filter((file) -> file.getFileName().toString().equals("preview.conf")).toList();
			}
			assertThat(previews).isEmpty();
		}
	}

	private static HttpConnection.Response preview(int port) throws IOException {
		return get(port);
	}

	private static HttpConnection.Response get(int port) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", port)) {
			return connection.get("/api/version", Map.of());
		}
	}

}
