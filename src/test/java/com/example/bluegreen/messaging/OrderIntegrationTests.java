package com.example.bluegreen.messaging;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

import com.example.bluegreen.support.Browser;
import com.example.bluegreen.support.RunningApp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.amqp.core.Message;
import org.springframework.amqp.core.MessageBuilder;
import org.springframework.amqp.rabbit.core.RabbitTemplate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Orders go through the real RabbitMQ: confirmed on publish, processed once, poison to the DLQ. */
class OrderIntegrationTests {

	private static RunningApp app;

	@BeforeAll
	static void start() {
		app = RunningApp.start("blue");
	}

	@AfterAll
	static void stop() {
		app.close();
	}

	@Test
	void postedOrderIsConsumedExactlyOnce() {
		long processedBefore = stats().get("processed");

		HttpResponse<String> response = new Browser().postJson(app.uri("/api/orders"),
				"{\"item\":\"book\",\"quantity\":2,\"customer\":\"ada\"}");

		assertThat(response.statusCode()).isEqualTo(202);
		String id = response.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
		assertThat(response.headers().firstValue("Location")).hasValue("/api/orders/" + id);
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(processed().find(id)).isNotNull()
				.satisfies((order) -> assertThat(order.processedBy()).isEqualTo("blue")));
		assertThat(new Browser().get(app.uri("/api/orders/" + id)).body()).contains("\"processedBy\":\"blue\"");
		assertThat(stats().get("processed")).isGreaterThanOrEqualTo(processedBefore + 1);
	}

	@Test
	void sameMessageDeliveredTwiceHasOneEffect() {
		Order order = new Order(UUID.randomUUID().toString(), "pen", 1, null, Instant.now());
		long duplicatesBefore = stats().get("duplicates");

		for (int i = 0; i < 2; i++) {
			rabbit().convertAndSend(MessagingConfiguration.EXCHANGE, MessagingConfiguration.ROUTING_KEY, order,
					(message) -> {
						message.getMessageProperties().setMessageId(order.id());
						return message;
					});
		}

		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(stats().get("duplicates")).isGreaterThanOrEqualTo(duplicatesBefore + 1));
		ProcessedOrders.ProcessedOrder first = processed().find(order.id());
		assertThat(first).isNotNull();
		assertThat(processed().recordOnce(order)).as("a third delivery has no effect either").isFalse();
		assertThat(processed().find(order.id())).isEqualTo(first);
	}

	@Test
	void poisonMessageEndsInDeadLetterQueueAndQueueKeepsFlowing() {
		String poisonId = UUID.randomUUID().toString();
		Message poison = MessageBuilder.withBody("{\"id\": not json".getBytes())
			.setContentType("application/json")
			.setMessageId(poisonId)
			.build();

		rabbit().send(MessagingConfiguration.EXCHANGE, MessagingConfiguration.ROUTING_KEY, poison);
		HttpResponse<String> next = new Browser().postJson(app.uri("/api/orders"), "{\"item\":\"cup\",\"quantity\":1}");

		await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
			Message dead = rabbit().receive(MessagingConfiguration.DEAD_LETTER_QUEUE, 500);
			assertThat(dead).isNotNull();
			assertThat(dead.getMessageProperties().getMessageId()).isEqualTo(poisonId);
		});
		String nextId = next.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(processed().find(nextId)).isNotNull());
	}

	@Test
	void invalidOrderMessageIsDeadLetteredWithoutEffect() {
		Order invalid = new Order(UUID.randomUUID().toString(), "pen", 0, null, Instant.now());

		rabbit().convertAndSend(MessagingConfiguration.EXCHANGE, MessagingConfiguration.ROUTING_KEY, invalid,
				(message) -> {
					message.getMessageProperties().setMessageId(invalid.id());
					return message;
				});

		await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
			Message dead = rabbit().receive(MessagingConfiguration.DEAD_LETTER_QUEUE, 500);
			assertThat(dead).isNotNull();
			assertThat(dead.getMessageProperties().getMessageId()).isEqualTo(invalid.id());
		});
		assertThat(processed().find(invalid.id())).isNull();
	}

	private static RabbitTemplate rabbit() {
		return app.bean(RabbitTemplate.class);
	}

	private static ProcessedOrders processed() {
		return app.bean(ProcessedOrders.class);
	}

	private static java.util.Map<String, Long> stats() {
		return processed().stats();
	}

}
