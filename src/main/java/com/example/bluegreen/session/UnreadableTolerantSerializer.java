package com.example.bluegreen.session;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.data.redis.serializer.SerializationException;

/**
 * Reads a stored value that cannot be deserialized (written by an incompatible version, or corrupt) as
 * {@link #UNREADABLE} instead of throwing, so the session mapper can drop the whole session.
 */
final class UnreadableTolerantSerializer implements RedisSerializer<Object> {

	static final Object UNREADABLE = new Object() {
		@Override
		public String toString() {
			return "<unreadable session value>";
		}
	};

	private static final Log logger = LogFactory.getLog(UnreadableTolerantSerializer.class);

	private final RedisSerializer<Object> delegate;

	UnreadableTolerantSerializer(RedisSerializer<Object> delegate) {
		this.delegate = delegate;
	}

	@Override
	public byte[] serialize(Object value) {
		return this.delegate.serialize(value);
	}

	@Override
	public Object deserialize(byte[] bytes) {
		try {
			return this.delegate.deserialize(bytes);
		}
		catch (SerializationException ex) {
			logger.warn("A stored session value cannot be read: " + ex.getMessage());
			return UNREADABLE;
		}
	}

}
