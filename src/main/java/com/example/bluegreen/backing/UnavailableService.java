package com.example.bluegreen.backing;

import io.lettuce.core.RedisBusyException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisLoadingException;
import io.lettuce.core.RedisReadOnlyException;

import org.springframework.amqp.AmqpException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.QueryTimeoutException;

/** Tells a failure caused by an unreachable backing service from a failure of the request or message. */
public final class UnavailableService {

	private UnavailableService() {
	}

	/**
	 * "Redis", "RabbitMQ" or null when the failure is something else. Redis wins: a listener's failure
	 * arrives wrapped in an AmqpException whatever its cause. Besides Spring's unreachable and timed-out,
	 * Redis is unavailable while it loads its data after a restart, runs a busy script, or is a read-only
	 * replica after a failover (these arrive as RedisSystemException).
	 */
	public static String of(Throwable ex) {
		if (anyCause(ex, DataAccessResourceFailureException.class, QueryTimeoutException.class,
				RedisConnectionException.class, RedisLoadingException.class, RedisBusyException.class,
				RedisReadOnlyException.class)) {
			return "Redis";
		}
		return anyCause(ex, AmqpException.class) ? "RabbitMQ" : null;
	}

	private static boolean anyCause(Throwable ex, Class<?>... types) {
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			for (Class<?> type : types) {
				if (type.isInstance(cause)) {
					return true;
				}
			}
		}
		return false;
	}

}
