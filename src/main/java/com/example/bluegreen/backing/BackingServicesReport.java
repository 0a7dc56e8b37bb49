package com.example.bluegreen.backing;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.amqp.rabbit.connection.CachingConnectionFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.stereotype.Component;

/**
 * Says at start which backing service is unreachable, where the app looked and how to start it. The app
 * still starts: readiness stays DOWN (so no deploy switches to it) until both are reachable.
 */
@Component
class BackingServicesReport {

	private static final Log logger = LogFactory.getLog(BackingServicesReport.class);

	private final LettuceConnectionFactory redis;

	private final CachingConnectionFactory rabbit;

	BackingServicesReport(LettuceConnectionFactory redis, CachingConnectionFactory rabbit) {
		this.redis = redis;
		this.rabbit = rabbit;
	}

	@EventListener(ApplicationReadyEvent.class)
	void report() {
		checkRedis();
		checkRabbit();
	}

	private void checkRedis() {
		try (RedisConnection connection = this.redis.getConnection()) {
			connection.ping();
		}
		catch (RuntimeException ex) {
			logger.error("Redis is not reachable at " + this.redis.getHostName() + ":" + this.redis.getPort()
					+ " (set spring.data.redis.host/port or SPRING_DATA_REDIS_HOST/PORT). Start it, e.g. "
					+ "'docker compose up -d redis' or 'redis-server --daemonize yes'. Readiness stays DOWN until then.");
		}
	}

	private void checkRabbit() {
		try {
			this.rabbit.createConnection().close();
		}
		catch (RuntimeException ex) {
			logger.error("RabbitMQ is not reachable at " + this.rabbit.getHost() + ":" + this.rabbit.getPort()
					+ " (set spring.rabbitmq.host/port or SPRING_RABBITMQ_HOST/PORT). Start it, e.g. "
					+ "'docker compose up -d rabbitmq' or 'rabbitmq-server -detached'. Readiness stays DOWN until then.");
		}
	}

}
