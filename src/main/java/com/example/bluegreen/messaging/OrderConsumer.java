package com.example.bluegreen.messaging;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.amqp.AmqpRejectAndDontRequeueException;
import org.springframework.amqp.rabbit.annotation.RabbitListener;
import org.springframework.stereotype.Component;

/**
 * Consumes orders, on both colors at once during a deploy (competing consumers). Ack mode AUTO: the
 * message is acked only after this method returns, so a crash redelivers it; {@link ProcessedOrders}
 * makes the redelivery harmless. A failure is retried (spring.rabbitmq.listener.simple.retry), then
 * {@link OrderRecoverer} requeues it (Redis unavailable) or dead-letters it to orders.dlq.
 */
@Component
class OrderConsumer {

	private static final Log logger = LogFactory.getLog(OrderConsumer.class);

	private final ProcessedOrders processed;

	OrderConsumer(ProcessedOrders processed) {
		this.processed = processed;
	}

	@RabbitListener(id = "orders", queues = MessagingConfiguration.QUEUE)
	void onOrder(Order order) {
		if (order.id() == null || order.id().isBlank() || order.quantity() < 1) {
			throw new AmqpRejectAndDontRequeueException("Invalid order message: " + order);
		}
		if (this.processed.recordOnce(order)) {
			logger.info("Processed order " + order.id());
		}
		else {
			logger.info("Order " + order.id() + " was already processed; duplicate delivery skipped");
		}
	}

}
