package com.example.bluegreen.backing;

import java.net.ConnectException;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisLoadingException;
import io.lettuce.core.RedisReadOnlyException;
import org.junit.jupiter.api.Test;

import org.springframework.amqp.AmqpConnectException;
import org.springframework.amqp.rabbit.support.ListenerExecutionFailedException;
import org.springframework.dao.QueryTimeoutException;
import org.springframework.data.redis.RedisConnectionFailureException;
import org.springframework.data.redis.RedisSystemException;

import static org.assertj.core.api.Assertions.assertThat;

class UnavailableServiceTests {

	@Test
	void redisFailureIsRedisEvenWhenAListenerWrapsIt() {
		assertThat(UnavailableService.of(new RedisConnectionFailureException("refused"))).isEqualTo("Redis");
		assertThat(UnavailableService.of(new ListenerExecutionFailedException("listener threw",
				new QueryTimeoutException("Redis command timed out")))).isEqualTo("Redis");
		assertThat(UnavailableService.of(new RedisSystemException("Error in execution",
				new RedisLoadingException("LOADING Redis is loading the dataset in memory")))).isEqualTo("Redis");
		assertThat(UnavailableService.of(new RedisSystemException("Error in execution",
				new RedisReadOnlyException("READONLY You can't write against a read only replica.")))).isEqualTo("Redis");
	}

	@Test
	void aRedisCommandErrorIsNoUnavailability() {
		assertThat(UnavailableService.of(new RedisSystemException("Error in execution",
				new RedisCommandExecutionException("ERR Error running script")))).isNull();
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
