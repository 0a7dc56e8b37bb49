package com.example.bluegreen.messaging;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.example.bluegreen.identity.AppIdentity;

import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import org.springframework.stereotype.Component;

/**
 * The consumer's effect and its idempotency record in one atomic Redis step: the record of a processed
 * order (who processed it, when) only gets written if it did not exist. A redelivered or duplicated
 * message therefore has its effect once, and a consumer killed before the step leaves nothing behind.
 * In your service, write the record in the same transaction as your effect (a database row, say).
 */
@Component
class ProcessedOrders {

	static final String KEY_PREFIX = "bluegreen:orders:processed:";

	static final String STATS_KEY = "bluegreen:orders:stats";

	private static final RedisScript<Long> RECORD_ONCE = RedisScript.of("""
			if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
			  redis.call('HINCRBY', KEYS[2], 'processed', 1)
			  return 1
			end
			redis.call('HINCRBY', KEYS[2], 'duplicates', 1)
			return 0
			""", Long.class);

	private final StringRedisTemplate redis;

	private final AppIdentity identity;

	private final Duration ttl;

	ProcessedOrders(StringRedisTemplate redis, AppIdentity identity, OrdersProperties properties) {
		this.redis = redis;
		this.identity = identity;
		this.ttl = properties.processedTtl();
	}

	/** Records the order as processed by this color; false when it already was (a duplicate). */
	boolean recordOnce(Order order) {
		String record = this.identity.color() + "|" + this.identity.deployId() + "|" + Instant.now();
		Long created = this.redis.execute(RECORD_ONCE, List.of(KEY_PREFIX + order.id(), STATS_KEY), record,
				Long.toString(this.ttl.toMillis()));
		return created != null && created == 1L;
	}

	/** Who processed the order and when, or null when it has not been processed (yet). */
	ProcessedOrder find(String id) {
		String record = this.redis.opsForValue().get(KEY_PREFIX + id);
		if (record == null) {
			return null;
		}
		String[] parts = record.split("\\|", 3);
		return new ProcessedOrder(id, parts[0], parts[1], Instant.parse(parts[2]));
	}

	/** Counters over all orders this Redis has seen: processed (effects) and duplicates (skipped). */
	Map<String, Long> stats() {
		Map<Object, Object> raw = this.redis.opsForHash().entries(STATS_KEY);
		return Map.of("processed", count(raw.get("processed")), "duplicates", count(raw.get("duplicates")));
	}

	private static long count(Object value) {
		return (value != null) ? Long.parseLong(value.toString()) : 0L;
	}

	record ProcessedOrder(String id, String processedBy, String deployId, Instant processedAt) {
	}

}
