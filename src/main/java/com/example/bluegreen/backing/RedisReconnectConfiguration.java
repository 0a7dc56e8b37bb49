package com.example.bluegreen.backing;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.resource.Delay;

import org.springframework.boot.data.redis.autoconfigure.ClientResourcesBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * After Redis restarts, the shared connection must come back within a second. Lettuce's default backoff
 * grows to 30 s between attempts, so a Redis blip of a few seconds left every request answering 503 for up
 * to 30 s after Redis was back, while readiness (its own connection) already said UP.
 */
@Configuration(proxyBeanMethods = false)
class RedisReconnectConfiguration {

	private static final Duration MAX_RECONNECT_DELAY = Duration.ofSeconds(1);

	@Bean
	ClientResourcesBuilderCustomizer redisReconnectDelay() {
		return (builder) -> builder
			.reconnectDelay(() -> Delay.exponential(Duration.ofMillis(50), MAX_RECONNECT_DELAY, 2, TimeUnit.MILLISECONDS));
	}

}
