package com.example.bluegreen.messaging;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import com.example.bluegreen.support.HttpConnection;
import com.example.bluegreen.support.LocalServices;
import com.example.bluegreen.support.RunningApp;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** RabbitMQ goes away while orders come in: nothing the API confirmed is lost or doubled. */
class BrokerOutageIntegrationTests {

	@Test
	void everyConfirmedOrderIsConsumedOnceAfterTheBrokerRestarts() throws Exception {
		ConcurrentLinkedQueue<String> accepted = new ConcurrentLinkedQueue<>();
		AtomicInteger refused = new AtomicInteger();
		AtomicInteger other = new AtomicInteger();
		AtomicBoolean posting = new AtomicBoolean(true);
		try (RunningApp app = RunningApp.start("blue")) {
			Thread poster = new Thread(() -> post(app, posting, accepted, refused, other), "poster");
			poster.start();
			try {
				await().atMost(Duration.ofSeconds(20)).until(() -> accepted.size() >= 20);

				LocalServices.rabbitmqctl("stop_app");
				await().atMost(Duration.ofSeconds(60)).until(() -> readiness(app) == 503);
				int refusedDuringOutage = refused.get();
				await().atMost(Duration.ofSeconds(30)).until(() -> refused.get() > refusedDuringOutage + 5);

				LocalServices.startRabbitApp();
				await().atMost(Duration.ofSeconds(90)).until(() -> readiness(app) == 200);
				int acceptedAfter = accepted.size();
				await().atMost(Duration.ofSeconds(30)).until(() -> accepted.size() > acceptedAfter + 20);
			}
			finally {
				posting.set(false);
				poster.join(60_000);
				LocalServices.startRabbitApp();
			}

			ProcessedOrders processed = app.bean(ProcessedOrders.class);
			List<String> ids = List.copyOf(accepted);
			await().atMost(Duration.ofSeconds(60))
				.untilAsserted(() -> assertThat(ids.stream().filter((id) -> processed.find(id) == null).toList())
					.as("confirmed orders not consumed").isEmpty());
			System.out.printf("RabbitMQ restart: %d orders confirmed (202) and all consumed once, %d refused with 503 during the outage, %d other answers%n",
					ids.size(), refused.get(), other.get());
			assertThat(other.get()).as("answers other than 202 and 503").isZero();
		}
	}

	private static void post(RunningApp app, AtomicBoolean posting, ConcurrentLinkedQueue<String> accepted,
			AtomicInteger refused, AtomicInteger other) {
		for (int i = 0; posting.get() && i < 100_000; i++) {
			try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
				HttpConnection.Response response = connection.post("/api/orders", "{\"item\":\"outage-" + i + "\",\"quantity\":1}");
				if (response.status() == 202) {
					accepted.add(response.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1"));
				}
				else if (response.status() == 503 && response.body().contains("not accepted")) {
					refused.incrementAndGet();
				}
				else {
					other.incrementAndGet();
				}
			}
			catch (IOException ex) {
				other.incrementAndGet();
			}
		}
	}

	private static int readiness(RunningApp app) {
		try (HttpConnection connection = new HttpConnection("127.0.0.1", app.port())) {
			return connection.get("/actuator/health/readiness", Map.of()).status();
		}
		catch (IOException ex) {
			return -1;
		}
	}

}
