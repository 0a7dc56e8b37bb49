package com.example.bluegreen.bench;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import javax.imageio.ImageIO;

import com.example.bluegreen.support.BackingServices;
import com.example.bluegreen.support.ScriptProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The benchmark's short run, {@code scripts/bench.sh --smoke}: it still runs end to end against the real
 * app, nginx and scripts, and writes its report and chart (into a temp directory, not over the committed
 * docs/benchmark/). Only what it produces is asserted, never a timing: the machine is shared.
 */
class BenchSmokeIntegrationTests {

	private static final Path BENCH = Path.of("scripts/bench.sh").toAbsolutePath();

	private static final byte[] PNG_SIGNATURE = { (byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

	@TempDir
	Path out;

	@Test
	void smokeRunWritesTheReportWithEverySectionAndTheChart() throws IOException {
		BackingServices.ensureRunning();

		ScriptProcess.Result run = ScriptProcess.start(BENCH, servicesEnvironment(), "--smoke", "--out", this.out.toString())
			.waitFor(Duration.ofMinutes(25));

		assertThat(run.exitCode()).as("%s", run).isZero();
		String report = Files.readString(this.out.resolve("REPORT.md"));
		assertThat(report).contains("# Benchmark report", "## Targets (issue 6)", "![Latency over time](latency.png)",
				"## Machine", "## Switch under load: socket mode vs reload mode, and any Boot jar through the relay", "## Baseline: stop-then-start on one port",
				"## Deploy timings", "## Fast start", "## Proxy overhead", "## Memory under load");
		assertThat(report).as("the switch table has both modes and the plain jar through the relay")
			.contains("| during the switches (socket 2, reload 2, relay 2) |", "| socket | 1 | switch", "| reload | 1 | switch",
					"| relay | 1 | switch");
		assertThat(report).as("deploys, proxy paths and memory rows")
			.contains("| first deploy, no load |", "| direct to the app (TCP) |",
					"| nginx, TCP, no keepalive (`Connection 'upgrade'` style) |",
					"| default (no flags; JVM ergonomics on this host) |",
					"| plain Boot jar: nginx, unix socket to nginx's relay, then TCP (socket mode for any jar) |",
					"The relay's cost per request");
		assertThat(report).as("the first traffic on a new color: the rollout row and the warm-up needs")
			.contains("## First traffic on a new color", "| rollout 5 25 50 100 (", "**Warm-up needs.**");
		Path chart = this.out.resolve("latency.png");
		assertThat(Files.readAllBytes(chart)).startsWith(PNG_SIGNATURE);
		BufferedImage image = ImageIO.read(chart.toFile());
		assertThat(image.getWidth()).isGreaterThan(800);
		assertThat(image.getHeight()).isGreaterThan(600);
		assertThat(this.out.resolve("REPORT.md.tmp")).doesNotExist();
	}

	/** The Redis and RabbitMQ the tests use (BackingServices may have started containers on other ports). */
	private static Map<String, String> servicesEnvironment() {
		Map<String, String> env = new HashMap<>();
		copy("spring.data.redis.host", "SPRING_DATA_REDIS_HOST", env);
		copy("spring.data.redis.port", "SPRING_DATA_REDIS_PORT", env);
		copy("spring.rabbitmq.host", "SPRING_RABBITMQ_HOST", env);
		copy("spring.rabbitmq.port", "SPRING_RABBITMQ_PORT", env);
		return env;
	}

	private static void copy(String property, String variable, Map<String, String> env) {
		String value = System.getProperty(property);
		if (value != null) {
			env.put(variable, value);
		}
	}

}
