package com.example.bluegreen.messaging;

import com.example.bluegreen.backing.UnavailableService;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.amqp.ImmediateRequeueAmqpException;
import org.springframework.amqp.core.Message;
import org.springframework.amqp.rabbit.retry.MessageRecoverer;
import org.springframework.amqp.rabbit.retry.RejectAndDontRequeueRecoverer;
import org.springframework.stereotype.Component;

/**
 * What happens to an order once its retries are used up. A message that failed because Redis (the
 * idempotency record) was unreachable is not at fault: it goes back to the queue, where either color takes
 * it again, so an outage of Redis delays orders but never dead-letters them. Any other failure is the
 * message's own and goes to orders.dlq.
 */
@Component
class OrderRecoverer implements MessageRecoverer {

	private static final Log logger = LogFactory.getLog(OrderRecoverer.class);

	private final MessageRecoverer deadLetter = new RejectAndDontRequeueRecoverer();

	private final Counter requeued;

	OrderRecoverer(MeterRegistry registry) {
		this.requeued = Counter.builder("orders.requeued")
			.description("Orders put back on the queue because Redis was unavailable")
			.register(registry);
	}

	@Override
	public void recover(Message message, Throwable cause) {
		if ("Redis".equals(UnavailableService.of(cause))) {
			this.requeued.increment();
			logger.warn("Order message " + message.getMessageProperties().getMessageId()
					+ " requeued: Redis is unavailable (" + cause.getMessage() + ")");
			throw new ImmediateRequeueAmqpException("Redis is unavailable; requeued", cause);
		}
		this.deadLetter.recover(message, cause);
	}

}
