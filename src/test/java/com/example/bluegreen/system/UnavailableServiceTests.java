package com.example.bluegreen.system;

import java.net.ConnectException;

import org.junit.jupiter.api.Test;

import org.springframework.amqp.AmqpConnectException;
import org.springframework.amqp.rabbit.support.ListenerExecutionFailedException;
import org.springframework.dao.QueryTimeoutException;
import org.springframework.data.redis.RedisConnectionFailureException;

import static org.assertj.core.api.Assertions.assertThat;

class UnavailableServiceTests {

	@Test
	void redisFailureIsRedisEvenWhenAListenerWrapsIt() {
		assertThat(UnavailableService.of(new RedisConnectionFailureException("refused"))).isEqualTo("Redis");
		assertThat(UnavailableService.of(new ListenerExecutionFailedException("listener threw",
				new QueryTimeoutException("Redis command timed out")))).isEqualTo("Redis");
	}

	@Test
	void brokerFailureIsRabbitMQ() {
		assertThat(UnavailableService.of(new IllegalStateException(new AmqpConnectException(new ConnectException()))))
			.isEqualTo("RabbitMQ");
	}

	@Test
	void anyOtherFailureIsNoBackingService() {
		assertThat(UnavailableService.of(new IllegalArgumentException("bad order"))).isNull();
	}

}
