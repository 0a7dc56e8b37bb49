package com.example.bluegreen.session;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import tools.jackson.databind.jsontype.BasicPolymorphicTypeValidator;
import tools.jackson.databind.jsontype.PolymorphicTypeValidator;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.serializer.GenericJacksonJsonRedisSerializer;
import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.session.MapSession;
import org.springframework.session.config.SessionRepositoryCustomizer;
import org.springframework.session.data.redis.RedisSessionMapper;
import org.springframework.session.data.redis.RedisSessionRepository;

/**
 * Sessions in Redis as JSON, shared by both colors. JDK serialization ties a stored session to the exact
 * classes that wrote it, so the first request after a deploy that changed a session class fails; JSON is
 * read by the next version as long as the fields still fit. A session that cannot be read at all is
 * treated as absent: the visitor gets a new session, never a 500.
 */
@Configuration(proxyBeanMethods = false)
class SessionConfiguration {

	private static final Log logger = LogFactory.getLog(SessionConfiguration.class);

	/**
	 * Only types under these package prefixes ({@code app.session.types}) may appear in a session: anything
	 * else named in the stored JSON is refused, so a crafted type name in Redis cannot instantiate arbitrary
	 * classes. A version that drops a prefix can no longer read sessions holding such a type: the deploy's
	 * session check (SessionCheckEndpoint) refuses it before any traffic moves.
	 */
	static PolymorphicTypeValidator sessionTypes(List<String> prefixes) {
		BasicPolymorphicTypeValidator.Builder types = BasicPolymorphicTypeValidator.builder();
		prefixes.forEach(types::allowIfSubType);
		return types.build();
	}

	/** Spring Session picks this bean by name for session attributes and metadata. */
	@Bean
	RedisSerializer<Object> springSessionDefaultRedisSerializer(
			@Value("${app.session.types}") List<String> types) {
		return new UnreadableTolerantSerializer(
				GenericJacksonJsonRedisSerializer.builder().enableDefaultTyping(sessionTypes(types)).build());
	}

	@Bean
	SessionRepositoryCustomizer<RedisSessionRepository> unreadableSessionsAreAbsent() {
		return (repository) -> repository.setRedisSessionMapper(new TolerantSessionMapper());
	}

	/** Maps a session with an unreadable value to an expired one, which the repository deletes and ignores. */
	static final class TolerantSessionMapper implements BiFunction<String, Map<String, Object>, MapSession> {

		private final RedisSessionMapper delegate = new RedisSessionMapper();

		@Override
		public MapSession apply(String id, Map<String, Object> entries) {
			if (!entries.containsValue(UnreadableTolerantSerializer.UNREADABLE)) {
				try {
					return this.delegate.apply(id, entries);
				}
				catch (IllegalStateException | ClassCastException ex) {
					logger.warn("A stored session is incomplete, starting a new one: " + ex.getMessage());
				}
			}
			MapSession expired = new MapSession(id);
			expired.setLastAccessedTime(Instant.EPOCH);
			expired.setMaxInactiveInterval(Duration.ofSeconds(1));
			return expired;
		}

	}

}
