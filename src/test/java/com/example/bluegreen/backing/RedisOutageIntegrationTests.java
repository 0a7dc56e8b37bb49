package com.example.bluegreen.backing;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.LocalServices;
import com.example.bluegreen.support.RunningApp;
import io.lettuce.core.api.StatefulRedisConnection;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;

import org.springframework.amqp.rabbit.core.RabbitAdmin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Redis restarts under a running color: a clear 503 meanwhile, orders still accepted and delayed rather than
 * dead-lettered, and recovery without a restart of the app.
 */
class RedisOutageIntegrationTests {

	@Test
	void redisRestartTurnsReadinessDownThenUpWithoutRestartingTheApp() throws Exception {
		try (RunningApp app = RunningApp.start("green")) {
			assertThat(get(app, "/api/visits").status()).isEqualTo(200);
			long deadLettered = deadLettered(app);
			List<String> startRedis;
			String order;
			try (StatefulRedisConnection<String, String> redis = LocalServices.redis()) {
				startRedis = LocalServices.redisStartCommand(redis);
				shutdown(redis);
			}
			try {
				await().atMost(Duration.ofSeconds(30)).until(() -> get(app, "/actuator/health/readiness").status() == 503);
				HttpConnection.Response during = get(app, "/api/visits");
				assertThat(during.status()).isEqualTo(503);
				assertThat(during.header("Content-Type")).isEqualTo("application/problem+json");
				assertThat(during.body()).contains("Redis is unavailable").doesNotContain("Exception", "at org.");
				assertThat(get(app, "/actuator/health/liveness").status()).as("liveness unaffected").isEqualTo(200);

				// An order accepted now cannot get its idempotency record: past its retries it goes back
				// to the queue, not to the dead-letter queue.
				HttpConnection.Response posted = post(app, "{\"item\":\"during-redis-outage\",\"quantity\":1}");
				assertThat(posted.status()).as("%s", posted).isEqualTo(202);
				order = posted.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
				await().atMost(Duration.ofSeconds(30)).until(() -> requeued(app) >= 1);
			}
			finally {
				LocalServices.startRedis(startRedis);
			}
			long restarted = System.nanoTime();
			await().atMost(Duration.ofSeconds(60)).until(() -> get(app, "/actuator/health/readiness").status() == 200);
			System.out.printf("Redis restart: readiness UP again %d ms after Redis was back%n",
					(System.nanoTime() - restarted) / 1_000_000);
			assertThat(get(app, "/api/visits").status()).isEqualTo(200);
			await().atMost(Duration.ofSeconds(30))
				.alias("the order accepted during the outage is processed once Redis is back")
				.until(() -> get(app, "/api/orders/" + order).status() == 200);
			assertThat(deadLettered(app)).as("nothing dead-lettered").isEqualTo(deadLettered);
		}
	}

	private static double requeued(RunningApp app) {
		return app.bean(MeterRegistry.class).get("orders.requeued").counter().count();
	}

	private static long deadLettered(RunningApp app) {
		return app.bean(RabbitAdmin.class).getQueueInfo("orders.dlq").getMessageCount();
	}

	private static void shutdown(StatefulRedisConnection<String, String> redis) {
		try {
			redis.sync().shutdown(false);
		}
		catch (RuntimeException ex) {
			// SHUTDOWN closes the connection instead of answering
		}
	}

	private static HttpConnection.Response post(RunningApp app, String json) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
			return connection.post("/api/orders", json);
		}
	}

	private static HttpConnection.Response get(RunningApp app, String path) {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
			return connection.get(path, Map.of());
		}
		catch (IOException ex) {
			return new HttpConnection.Response(-1, Map.of(), ex.toString());
		}
	}

}
