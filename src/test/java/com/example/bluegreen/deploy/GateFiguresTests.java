package com.example.bluegreen.deploy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.example.bluegreen.support.ScriptProcess;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The figures the rollout gate judges a step by (scripts/lib/accesslog.sh answer_stats): answers, 5xx and
 * p99 per color from nginx's access log. One slow answer in a small window (a new color's first POST) is
 * not the p99; two are, and so is the nearest rank once there are 100 answers.
 */
class GateFiguresTests {

	@Test
	void oneSlowAnswerAmongFewIsNotTheP99() {
		assertThat(answerStats("blue", answers("blue", 55, 5) + answers("blue", 1, 140))).isEqualTo("56 0 5");
	}

	@Test
	void twoSlowAnswersAmongFewAreTheP99() {
		assertThat(answerStats("blue", answers("blue", 54, 5) + answers("blue", 1, 120) + answers("blue", 1, 140)))
			.isEqualTo("56 0 120");
	}

	@Test
	void fromOneHundredAnswersTheP99IsTheNearestRank() {
		assertThat(answerStats("blue", answers("blue", 198, 5) + answers("blue", 2, 300))).isEqualTo("200 0 5");
		assertThat(answerStats("blue", answers("blue", 197, 5) + answers("blue", 3, 300))).isEqualTo("200 0 300");
	}

	@Test
	void countsOnlyTheColorsAnswersAndNginxsOwn5xxAgainstTheNewColor() {
		String log = answers("blue", 30, 5) + answers("green", 30, 9) + line("-", 502, 0);
		assertThat(answerStats("green", log)).isEqualTo("30 0 9");
		assertThat(answerStats("blue unnamed", log)).isEqualTo("31 1 5");
	}

	private static String answers(String color, int count, int millis) {
		return IntStream.range(0, count).mapToObj((i) -> line(color, 200, millis)).collect(Collectors.joining());
	}

	private static String line(String color, int status, int millis) {
		return "127.0.0.1 [2026-12-03T03:40:49+00:00] \"GET /api/version HTTP/1.1\" " + status + " 42 rt="
				+ String.format(Locale.ROOT, "%.3f", millis / 1000.0) + " upstream=unix:/run/slot-01.sock color=" + color + "\n";
	}

	private static String answerStats(String arguments, String log) {
		String script = "source scripts/lib/accesslog.sh; answer_stats " + arguments + " <<'LOG'\n" + log + "LOG\n";
		ScriptProcess.Result result = ScriptProcess
			.start(Path.of("/bin/bash"), Map.of("PATH", System.getenv("PATH")), "-c", script)
			.waitFor(Duration.ofSeconds(30));
		assertThat(result.exitCode()).as("%s", result).isZero();
		return result.stdout().trim();
	}

}
