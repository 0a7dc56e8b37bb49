package com.example.bluegreen.messaging;

import java.time.Duration;

import org.springframework.amqp.core.Binding;
import org.springframework.amqp.core.BindingBuilder;
import org.springframework.amqp.core.DirectExchange;
import org.springframework.amqp.core.ExchangeBuilder;
import org.springframework.amqp.core.Queue;
import org.springframework.amqp.core.QueueBuilder;
import org.springframework.amqp.rabbit.config.ContainerCustomizer;
import org.springframework.amqp.rabbit.listener.SimpleMessageListenerContainer;
import org.springframework.amqp.support.converter.JacksonJsonMessageConverter;
import org.springframework.amqp.support.converter.MessageConverter;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The order topology, declared by the app on every (re)connect: orders exchange -> orders queue; a message
 * rejected after the bounded retries goes through the dead-letter exchange to orders.dlq.
 */
@Configuration(proxyBeanMethods = false)
class MessagingConfiguration {

	static final String EXCHANGE = "orders";

	static final String QUEUE = "orders";

	static final String ROUTING_KEY = "order.created";

	static final String DEAD_LETTER_EXCHANGE = "orders.dlx";

	static final String DEAD_LETTER_QUEUE = "orders.dlq";

	@Bean
	DirectExchange ordersExchange() {
		return ExchangeBuilder.directExchange(EXCHANGE).durable(true).build();
	}

	@Bean
	Queue ordersQueue() {
		return QueueBuilder.durable(QUEUE).deadLetterExchange(DEAD_LETTER_EXCHANGE).build();
	}

	@Bean
	Binding ordersBinding() {
		return BindingBuilder.bind(ordersQueue()).to(ordersExchange()).with(ROUTING_KEY);
	}

	@Bean
	DirectExchange deadLetterExchange() {
		return ExchangeBuilder.directExchange(DEAD_LETTER_EXCHANGE).durable(true).build();
	}

	@Bean
	Queue deadLetterQueue() {
		return QueueBuilder.durable(DEAD_LETTER_QUEUE).build();
	}

	@Bean
	Binding deadLetterBinding() {
		// Dead-lettered messages keep their routing key.
		return BindingBuilder.bind(deadLetterQueue()).to(deadLetterExchange()).with(ROUTING_KEY);
	}

	@Bean
	MessageConverter jsonMessageConverter() {
		return new JacksonJsonMessageConverter();
	}

	/**
	 * On shutdown the listener finishes the message in hand for up to this long (default 5 s). It must stay
	 * below spring.lifecycle.timeout-per-shutdown-phase, else the phase gives up first; it adds up with the
	 * other shutdown waits (see "Shutdown timing" in application.yml).
	 */
	@Bean
	ContainerCustomizer<SimpleMessageListenerContainer> listenerShutdownTimeout(OrdersProperties properties) {
		Duration timeout = properties.listenerShutdownTimeout();
		return (container) -> container.setShutdownTimeout(timeout.toMillis());
	}

}
