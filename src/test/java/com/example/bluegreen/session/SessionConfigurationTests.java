package com.example.bluegreen.session;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.session.MapSession;

import static org.assertj.core.api.Assertions.assertThat;

class SessionConfigurationTests {

	private final RedisSerializer<Object> serializer = new SessionConfiguration()
		.springSessionDefaultRedisSerializer(List.of("java.lang.", "java.util.", "java.time.", "com.example.bluegreen."));

	@Test
	void sessionValuesRoundTripAsJson() {
		Map<String, Object> attributes = new HashMap<>(Map.of("visits", 3, "name", "ada"));
		attributes.put("items", new ArrayList<>(List.of("a", "b")));

		byte[] json = this.serializer.serialize(attributes);

		assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"visits\"", "\"ada\"");
		assertThat(this.serializer.deserialize(json)).isEqualTo(attributes);
	}

	@Test
	void epochMillisStayLongForSessionMetadata() {
		long now = Instant.now().toEpochMilli();

		assertThat(this.serializer.deserialize(this.serializer.serialize(now))).isEqualTo(now);
	}

	@Test
	void jdkSerializedValueReadsAsUnreadable() {
		byte[] jdk = new byte[] { (byte) 0xAC, (byte) 0xED, 0x00, 0x05, 0x73, 0x72 };

		assertThat(this.serializer.deserialize(jdk)).isSameAs(UnreadableTolerantSerializer.UNREADABLE);
	}

	@Test
	void typeOutsideTheAllowedPackagesIsRefused() {
		byte[] crafted = "[\"javax.naming.InitialContext\",{}]".getBytes(StandardCharsets.UTF_8);

		assertThat(this.serializer.deserialize(crafted)).isSameAs(UnreadableTolerantSerializer.UNREADABLE);
	}

	@Test
	void sessionWithUnreadableValueMapsToExpiredSession() {
		Map<String, Object> entries = new HashMap<>(stored());
		entries.put("sessionAttr:visits", UnreadableTolerantSerializer.UNREADABLE);

		MapSession session = new SessionConfiguration.TolerantSessionMapper().apply("id-1", entries);

		assertThat(session.isExpired()).isTrue();
	}

	@Test
	void sessionWithMissingMetadataMapsToExpiredSession() {
		Map<String, Object> entries = new HashMap<>(stored());
		entries.remove("creationTime");

		assertThat(new SessionConfiguration.TolerantSessionMapper().apply("id-1", entries).isExpired()).isTrue();
	}

	@Test
	void readableSessionIsMappedAsStored() {
		MapSession session = new SessionConfiguration.TolerantSessionMapper().apply("id-1", stored());

		assertThat(session.isExpired()).isFalse();
		assertThat((Integer) session.getAttribute("visits")).isEqualTo(2);
	}

	private static Map<String, Object> stored() {
		long now = Instant.now().toEpochMilli();
		return Map.of("creationTime", now, "lastAccessedTime", now, "maxInactiveInterval", 1800,
				"sessionAttr:visits", 2);
	}

}
