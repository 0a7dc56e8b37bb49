package com.example.bluegreen.web;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;

import jakarta.servlet.http.HttpSession;

import com.example.bluegreen.session.VisitCounter;
import com.example.bluegreen.identity.AppIdentity;

import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/** Small JSON endpoints for users, load tests and deploy checks. */
@RestController
class ApiController {

	/** Rounds of SHA-256 per /hash request: about a millisecond of CPU, like the classic load-test endpoint. */
	static final int HASH_ROUNDS = 2_000;

	static final int MAX_HASH_INPUT = 128;

	private final AppIdentity identity;

	private final Duration slowMax;

	private final VisitCounter visits;

	ApiController(AppIdentity identity, SlowProperties slow, VisitCounter visits) {
		this.identity = identity;
		this.slowMax = slow.max();
		this.visits = visits;
	}

	@GetMapping("/api/version")
	Version version() {
		return new Version(this.identity.color(), this.identity.version(), this.identity.deployId());
	}

	@GetMapping("/api/visits")
	Visits visits(HttpSession session) {
		return new Visits(this.visits.increment(session), this.identity.color());
	}

	@GetMapping("/hash/{input:[A-Za-z0-9._~-]+}")
	Hash hash(@PathVariable String input) {
		if (input.length() > MAX_HASH_INPUT) {
			throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
					"input must be at most " + MAX_HASH_INPUT + " characters");
		}
		byte[] digest = input.getBytes(StandardCharsets.UTF_8);
		MessageDigest sha256 = sha256();
		for (int i = 0; i < HASH_ROUNDS; i++) {
			digest = sha256.digest(digest);
		}
		return new Hash(input, HexFormat.of().formatHex(digest), this.identity.color());
	}

	@GetMapping("/api/slow")
	Slow slow(@RequestParam long ms) throws InterruptedException {
		if (ms < 0 || ms > this.slowMax.toMillis()) {
			throw new ResponseStatusException(HttpStatus.BAD_REQUEST,
					"ms must be between 0 and " + this.slowMax.toMillis());
		}
		Thread.sleep(ms);
		return new Slow(ms, this.identity.color());
	}

	private static MessageDigest sha256() {
		try {
			return MessageDigest.getInstance("SHA-256");
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

	record Version(String color, String version, String deployId) {
	}

	record Visits(int visits, String color) {
	}

	record Hash(String input, String sha256, String color) {
	}

	record Slow(long ms, String color) {
	}

}
