package com.example.bluegreen.messaging;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.example.bluegreen.support.DeployHarness;
import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.LocalServices;
import com.example.bluegreen.support.ScriptProcess;
import com.example.bluegreen.support.TestJars;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The JVM consuming an order dies with it in hand: the broker redelivers it and its effect happens once. */
class ConsumerKilledIntegrationTests {

	@Test
	void orderInHandOfAKilledConsumerIsRedeliveredAndProcessedOnce() throws Exception {
		try (DeployHarness harness = DeployHarness.start("socket");
				StatefulRedisConnection<String, String> redis = LocalServices.redis()) {
			assertThat(harness.run("deploy.sh", TestJars.current().toString()).exitCode()).isZero();
			String consumer = harness.liveColor();
			long consumerPid = harness.pid(consumer);
			String consumerDeployId = deployId(harness);
			long duplicatesBefore = duplicates(redis);
			String id;
			try {
				// Redis holds back writes: the consumer takes the order and waits on its effect, unacked.
				LocalServices.pauseRedisWrites(redis, Duration.ofSeconds(60));
				id = postOrder(harness);
				await().atMost(Duration.ofSeconds(30)).until(() -> LocalServices.unacknowledged("orders") >= 1);

				new ProcessBuilder("kill", "-KILL", Long.toString(consumerPid)).start().waitFor(10, TimeUnit.SECONDS);
				await().atMost(Duration.ofSeconds(10)).until(() -> !DeployHarness.isRunning(consumerPid));
			}
			finally {
				LocalServices.unpauseRedis(redis);
			}
			// The broker takes the unacked order back. The dead consumer's effect may still land: Redis had
			// already read its command and runs it when unpaused (killed after the effect, before the ack).
			await().atMost(Duration.ofSeconds(30)).until(() -> LocalServices.unacknowledged("orders") == 0);
			String key = "bluegreen:orders:processed:" + id;
			String effectOfTheDead = redis.sync().get(key);

			// The next deploy brings a consumer back and the broker redelivers the order to it.
			ScriptProcess.Result redeploy = harness.run("deploy.sh", TestJars.current().toString());
			assertThat(redeploy.exitCode()).as("%s", redeploy).isZero();
			await().atMost(Duration.ofSeconds(30)).until(() -> LocalServices.queues().lines()
				.anyMatch((line) -> line.trim().matches("orders\\s+0\\s+0")));

			String effect = redis.sync().get(key);
			boolean deadConsumerApplied = effectOfTheDead != null && effectOfTheDead.contains("|" + consumerDeployId + "|");
			if (deadConsumerApplied) {
				assertThat(effect).as("the redelivery had no second effect").isEqualTo(effectOfTheDead);
				assertThat(duplicates(redis)).as("the redelivery was skipped as a duplicate").isGreaterThan(duplicatesBefore);
			}
			else {
				assertThat(effect).as("processed once, by the consumer that got the redelivery").isNotNull()
					.doesNotContain("|" + consumerDeployId + "|");
			}
			System.out.printf("consumer killed mid-message: order %s redelivered; effect once (%s)%n", id,
					deadConsumerApplied ? "landed before the kill, the redelivery was skipped as a duplicate"
							: "applied after the redelivery: " + effect);
		}
	}

	private static String deployId(DeployHarness harness) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
			return DeployHarness.jsonField(connection.get("/api/version", Map.of()).body(), "deployId");
		}
	}

	private static long duplicates(StatefulRedisConnection<String, String> redis) {
		String value = redis.sync().hget("bluegreen:orders:stats", "duplicates");
		return (value != null) ? Long.parseLong(value) : 0;
	}

	private static String postOrder(DeployHarness harness) throws IOException {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", harness.publicPort())) {
			HttpConnection.Response response = connection.post("/api/orders", "{\"item\":\"in-hand\",\"quantity\":1}");
			assertThat(response.status()).isEqualTo(202);
			return response.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
		}
	}

}
