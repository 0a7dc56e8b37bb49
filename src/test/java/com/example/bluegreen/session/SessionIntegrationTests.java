package com.example.bluegreen.session;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

import com.example.bluegreen.support.Browser;
import com.example.bluegreen.support.RunningApp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.core.StringRedisTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/** Sessions live in Redis, shared by blue and green, and survive what a deploy can do to them. */
class SessionIntegrationTests {

	private static RunningApp blue;

	private static RunningApp green;

	@BeforeAll
	static void startBothColors() {
		blue = RunningApp.start("blue");
		green = RunningApp.start("green");
	}

	@AfterAll
	static void stopBothColors() {
		blue.close();
		green.close();
	}

	@Test
	void sessionCreatedOnBlueIsReadOnGreen() {
		Browser visitor = new Browser();
		assertThat(visitor.get(blue.uri("/api/visits")).body()).contains("\"visits\":1", "\"color\":\"blue\"");
		assertThat(visitor.get(blue.uri("/api/visits")).body()).contains("\"visits\":2");

		HttpResponse<String> onGreen = visitor.get(green.uri("/api/visits"));

		assertThat(onGreen.statusCode()).isEqualTo(200);
		assertThat(onGreen.body()).contains("\"visits\":3", "\"color\":\"green\"");
	}

	@Test
	void homePageCountsVisitsOfTheSession() {
		Browser visitor = new Browser();
		visitor.get(blue.uri("/"));
		HttpResponse<String> page = visitor.get(green.uri("/"));
		assertThat(page.headers().firstValue("Content-Type")).hasValueSatisfying((type) -> assertThat(type).startsWith("text/html"));
		assertThat(page.body()).contains("<span id=\"color\">green</span>", "<span id=\"visits\">2</span>");
	}

	@Test
	void sessionIsStoredAsJson() {
		Browser visitor = new Browser();
		visitor.get(blue.uri("/api/visits"));
		visitor.get(blue.uri("/api/visits"));
		String key = sessionKeyOf(visitor);

		Map<Object, Object> stored = redis().opsForHash().entries(key);

		assertThat(stored).containsEntry("sessionAttr:visits", "2");
		assertThat(stored.get("creationTime").toString()).matches("\\d+");
	}

	@Test
	void unreadableSessionYieldsFreshSession() {
		Browser visitor = new Browser();
		visitor.get(blue.uri("/api/visits"));
		visitor.get(blue.uri("/api/visits"));
		String key = sessionKeyOf(visitor);
		// What a version with another serializer, or a corrupt write, leaves behind.
		try (RedisConnection connection = blue.bean(RedisConnectionFactory.class).getConnection()) {
			connection.hashCommands()
				.hSet(key.getBytes(StandardCharsets.UTF_8), "sessionAttr:visits".getBytes(StandardCharsets.UTF_8),
						new byte[] { (byte) 0xAC, (byte) 0xED, 0x00, 0x05, 0x73, 0x72 });
		}

		HttpResponse<String> onGreen = visitor.get(green.uri("/api/visits"));

		assertThat(onGreen.statusCode()).isEqualTo(200);
		assertThat(onGreen.body()).contains("\"visits\":1");
		assertThat(onGreen.headers().firstValue("Set-Cookie")).hasValueSatisfying(
				(cookie) -> assertThat(cookie).startsWith("SESSION="));
		assertThat(redis().hasKey(key)).as("the unreadable session is deleted").isFalse();
	}

	@Test
	void sessionWithCorruptMetadataYieldsFreshSession() {
		Browser visitor = new Browser();
		visitor.get(green.uri("/api/visits"));
		String key = sessionKeyOf(visitor);
		redis().opsForHash().put(key, "creationTime", "\"not a time\"");

		HttpResponse<String> onBlue = visitor.get(blue.uri("/api/visits"));

		assertThat(onBlue.statusCode()).isEqualTo(200);
		assertThat(onBlue.body()).contains("\"visits\":1");
	}

	@Test
	void sessionCheckNamesEachAttributeAndItsTypeNeverItsValue() {
		Browser visitor = new Browser();
		visitor.get(blue.uri("/api/visits"));
		String key = sessionKeyOf(visitor);
		String id = key.substring(key.lastIndexOf(':') + 1);
		redis().opsForHash().put(key, "sessionAttr:cart", "[\"java.util.ArrayList\",[\"secret-book\"]]");
		redis().opsForHash().put(key, "sessionAttr:broken", "{{{");

		// Asked as the deploy asks: without the visitor's cookie (a request that carried it would load the
		// session, find it unreadable and delete it).
		Browser deploy = new Browser();
		String report = deploy.get(green.uri("/actuator/sessioncheck?ids=" + id)).body();

		assertThat(report).contains("\"id\":\"" + id + "\"", "\"readable\":false", "\"visits\":\"java.lang.Integer\"",
				"\"cart\":\"java.util.ArrayList\"", "\"broken\":\"unreadable\"")
			.doesNotContain("secret-book");
		// Without ids: the newest sessions by last access, this one among them.
		assertThat(deploy.get(green.uri("/actuator/sessioncheck?limit=5")).body()).contains("\"id\":\"" + id + "\"");
	}

	private static StringRedisTemplate redis() {
		return blue.bean(StringRedisTemplate.class);
	}

	/** The Redis key of the visitor's session: the session id is the base64 value of the SESSION cookie. */
	private static String sessionKeyOf(Browser visitor) {
		String id = new String(Base64.getDecoder().decode(visitor.cookie("SESSION")), StandardCharsets.UTF_8);
		String key = "bluegreen:session:sessions:" + id;
		assertThat(redis().hasKey(key)).as("session %s in Redis", key).isTrue();
		return key;
	}

}
