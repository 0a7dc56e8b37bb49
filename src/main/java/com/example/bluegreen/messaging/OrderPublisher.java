package com.example.bluegreen.messaging;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.springframework.amqp.AmqpException;
import org.springframework.amqp.core.MessageDeliveryMode;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.rabbit.core.RabbitTemplate;
import org.springframework.stereotype.Component;

/**
 * Publishes an order and waits for the broker's confirm. A nack, a return (unroutable) or no confirm in
 * time is an error the caller sees; an order is only "accepted" once the broker has it on disk.
 */
@Component
class OrderPublisher {

	private final RabbitTemplate rabbit;

	private final Duration confirmTimeout;

	OrderPublisher(RabbitTemplate rabbit, OrdersProperties properties) {
		this.rabbit = rabbit;
		this.confirmTimeout = properties.confirmTimeout();
	}

	void publish(Order order) {
		CorrelationData correlation = new CorrelationData(order.id());
		try {
			this.rabbit.convertAndSend(MessagingConfiguration.EXCHANGE, MessagingConfiguration.ROUTING_KEY, order,
					(message) -> {
						message.getMessageProperties().setMessageId(order.id());
						message.getMessageProperties().setDeliveryMode(MessageDeliveryMode.PERSISTENT);
						return message;
					}, correlation);
			CorrelationData.Confirm confirm = correlation.getFuture()
				.get(this.confirmTimeout.toMillis(), TimeUnit.MILLISECONDS);
			if (!confirm.ack()) {
				throw new OrderNotAcceptedException("the broker refused it (" + confirm.reason() + ")", null);
			}
			if (correlation.getReturned() != null) {
				throw new OrderNotAcceptedException(
						"the broker could not route it (" + correlation.getReturned().getReplyText() + ")", null);
			}
		}
		catch (AmqpException ex) {
			throw new OrderNotAcceptedException("RabbitMQ is unavailable", ex);
		}
		catch (TimeoutException ex) {
			throw new OrderNotAcceptedException("no confirm from the broker within " + this.confirmTimeout, ex);
		}
		catch (ExecutionException ex) {
			throw new OrderNotAcceptedException("the broker connection failed", ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new OrderNotAcceptedException("interrupted while waiting for the broker", ex);
		}
	}

}
