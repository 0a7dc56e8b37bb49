package com.example.bluegreen.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import com.example.bluegreen.support.ScriptProcess;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a failed start prints of the new color's log (scripts/lib/proc.sh last_log_lines): the ERROR that
 * says why, even when a WARN repeated on every readiness poll came after it; with mawk (Debian's default
 * awk) as well as gawk.
 */
class FailedStartLogTests {

	private static final String LOG = """
			2026-11-22T03:36:01.000Z  INFO 1 --- [bluegreen] [main] c.e.b.BlueGreenApplication : Starting
			2026-11-22T03:36:02.000Z ERROR 1 --- [bluegreen] [main] c.e.b.s.BackingServicesReport : Redis is not reachable at localhost:1
			java.net.ConnectException: Connection refused
			\tat io.lettuce.core.Foo.bar(Foo.java:1)
			2026-11-22T03:36:11.893Z  WARN 1 --- [bluegreen] [       orders-1] o.s.a.r.r.Recoverer  : Retries exhausted for message (Body:'[B@3cca2e18')
			2026-11-22T03:36:11.894Z  WARN 1 --- [bluegreen] [       orders-1] o.s.a.r.r.Recoverer  : Retries exhausted for message (Body:'[B@3cca2e19')
			""" + "2026-11-22T03:36:12.000Z  WARN 1 --- [bluegreen] [oundedElastic-1] b.d.r.h.RedisHealth : Redis health check failed\n".repeat(150);

	@ParameterizedTest
	@ValueSource(strings = { "mawk", "gawk" })
	void showsTheCauseFirstAndEachRepeatedWarningOnce(String awk, @TempDir Path dir) throws IOException {
		Path tool = Path.of("/usr/bin", awk);
		assertThat(tool).as("%s is not installed: apt-get install %s", awk, awk).isExecutable();
		Files.createSymbolicLink(dir.resolve("awk"), tool);
		Path log = Files.writeString(dir.resolve("blue.log"), LOG);
		String script = "source scripts/lib/proc.sh; log_file() { echo '" + log + "'; }; last_log_lines blue";

		ScriptProcess.Result result = ScriptProcess
			.start(Path.of("/bin/bash"), Map.of("PATH", dir + ":" + System.getenv("PATH")), "-c", script)
			.waitFor(Duration.ofSeconds(30));

		assertThat(result.exitCode()).as("%s", result).isZero();
		assertThat(result.stderr().lines().toList()).containsExactly(
				"    | 2026-11-22T03:36:02.000Z ERROR 1 --- [bluegreen] [main] c.e.b.s.BackingServicesReport : Redis is not reachable at localhost:1",
				"    | 2026-11-22T03:36:11.894Z  WARN 1 --- [bluegreen] [       orders-1] o.s.a.r.r.Recoverer  : Retries exhausted for message (Body:'[B@3cca2e19') (2 times)",
				"    | 2026-11-22T03:36:12.000Z  WARN 1 --- [bluegreen] [oundedElastic-1] b.d.r.h.RedisHealth : Redis health check failed (150 times)");
	}

}
