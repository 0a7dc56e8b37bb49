package com.example.bluegreen.jobs;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import com.example.bluegreen.support.RunningApp;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** With blue and green up at once, the ShedLock-guarded job runs once per interval, not once per color. */
class HeartbeatJobIntegrationTests {

	private static final Duration LOCK_AT_LEAST_FOR = Duration.ofMillis(500);

	@Test
	void jobDoesNotRunConcurrentlyInTwoColors() {
		String deployId = "jobs-" + UUID.randomUUID();
		String[] fastHeartbeat = { "app.deploy-id=" + deployId, "app.jobs.heartbeat.interval=PT0.2S",
				"app.jobs.heartbeat.lock-at-least-for=PT0.5S" };
		try (RunningApp blue = RunningApp.start("blue", fastHeartbeat);
				RunningApp green = RunningApp.start("green", fastHeartbeat)) {
			HeartbeatJob job = blue.bean(HeartbeatJob.class);
			// From here on both colors are up and connected (a first run pays for the Redis connection).
			Instant bothUp = Instant.now();

			await().atMost(Duration.ofSeconds(30)).until(() -> runsOf(job, deployId, bothUp).size() >= 8);

			List<Run> runs = runsOf(job, deployId, bothUp);
			// Each color runs the job on a 200 ms fixed delay: unguarded, together they would run it at
			// least every 100 ms. Guarded, one run holds the lock for 500 ms.
			for (int i = 1; i < runs.size(); i++) {
				Duration gap = Duration.between(runs.get(i).at(), runs.get(i - 1).at());
				assertThat(gap).as("gap between runs %s and %s", runs.get(i), runs.get(i - 1))
					.isGreaterThanOrEqualTo(LOCK_AT_LEAST_FOR.minusMillis(50));
			}
		}
	}

	/** Runs recorded by the contexts of this test since the given time, newest first. */
	private static List<Run> runsOf(HeartbeatJob job, String deployId, Instant since) {
		return job.runs()
			.stream()
			.map((run) -> run.split("\\|"))
			.filter((parts) -> parts[1].equals(deployId))
			.map((parts) -> new Run(parts[0], Instant.parse(parts[2])))
			.filter((run) -> run.at().isAfter(since))
			.toList();
	}

	private record Run(String color, Instant at) {
	}

}
