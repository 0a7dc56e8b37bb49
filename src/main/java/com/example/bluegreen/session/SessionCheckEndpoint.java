package com.example.bluegreen.session;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.core.Cursor;
import org.springframework.data.redis.core.ScanOptions;
import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.stereotype.Component;

/**
 * The deploy's session check (/actuator/sessioncheck, on the loopback actuator port): can this version read
 * the sessions in Redis? Without {@code ids}, the newest {@code limit} sessions by last access; with
 * {@code ids} (comma-separated), those. Each session is reported with its attributes' names and the types
 * this version reads them as ("unreadable" when it cannot): names and types only, never values. The deploy
 * asks the live color for its sample, then the staged color for the same ids.
 */
@Component
@Endpoint(id = "sessioncheck")
public class SessionCheckEndpoint {

	/** At most this many session keys are looked at to find the newest: the check stays quick on any Redis. */
	static final int SCAN_LIMIT = 10_000;

	static final String UNREADABLE = "unreadable";

	private static final String ATTRIBUTE = "sessionAttr:";

	private final RedisConnectionFactory connections;

	private final RedisSerializer<Object> values;

	private final String sessionsPrefix;

	SessionCheckEndpoint(RedisConnectionFactory connections,
			@Qualifier("springSessionDefaultRedisSerializer") RedisSerializer<Object> values,
			@Value("${spring.session.data.redis.namespace:spring:session}") String namespace) {
		this.connections = connections;
		this.values = values;
		this.sessionsPrefix = namespace + ":sessions:";
	}

	@ReadOperation
	public Map<String, Object> check(@Nullable Integer limit, @Nullable String ids) {
		try (RedisConnection redis = this.connections.getConnection()) {
			List<String> sample = (ids != null) ? List.of(ids.split(",")) : newest(redis, (limit != null) ? limit : 100);
			List<Map<String, Object>> sessions = new ArrayList<>();
			for (String id : sample) {
				Map<String, Object> session = report(redis, id.strip());
				if (session != null) {
					sessions.add(session);
				}
			}
			return Map.of("sessions", sessions);
		}
	}

	private List<String> newest(RedisConnection redis, int limit) {
		Map<String, Long> lastAccessed = new LinkedHashMap<>();
		byte[] field = "lastAccessedTime".getBytes(StandardCharsets.UTF_8);
		ScanOptions options = ScanOptions.scanOptions().match(this.sessionsPrefix + "*").count(500).build();
		try (Cursor<byte[]> keys = redis.keyCommands().scan(options)) {
			while (keys.hasNext() && lastAccessed.size() < SCAN_LIMIT) {
				byte[] key = keys.next();
				Object time = this.values.deserialize(redis.hashCommands().hGet(key, field));
				lastAccessed.put(new String(key, StandardCharsets.UTF_8).substring(this.sessionsPrefix.length()),
						(time instanceof Number number) ? number.longValue() : 0L);
			}
		}
		return lastAccessed.entrySet()
			.stream()
			.sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()))
			.limit(limit)
			.map(Map.Entry::getKey)
			.toList();
	}

	private @Nullable Map<String, Object> report(RedisConnection redis, String id) {
		Map<byte[], byte[]> entries = redis.hashCommands().hGetAll((this.sessionsPrefix + id).getBytes(StandardCharsets.UTF_8));
		if (entries == null || entries.isEmpty()) {
			return null;
		}
		Map<String, String> attributes = new TreeMap<>();
		boolean readable = true;
		for (Map.Entry<byte[], byte[]> entry : entries.entrySet()) {
			String name = new String(entry.getKey(), StandardCharsets.UTF_8);
			Object value = this.values.deserialize(entry.getValue());
			boolean unreadable = value == UnreadableTolerantSerializer.UNREADABLE;
			readable &= !unreadable;
			if (name.startsWith(ATTRIBUTE)) {
				attributes.put(name.substring(ATTRIBUTE.length()),
						unreadable ? UNREADABLE : (value != null) ? value.getClass().getName() : "null");
			}
		}
		return Map.of("id", id, "readable", readable, "attributes", attributes);
	}

}
