package com.example.bluegreen.jobs;

import java.time.Instant;
import java.util.List;

import net.javacrumbs.shedlock.spring.annotation.SchedulerLock;

import com.example.bluegreen.identity.AppIdentity;

import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * A fixed-delay job that records which color ran it and when (the last 100 runs, in Redis). With two
 * colors up, the lock makes it run once per interval, not once per color: lockAtLeastFor keeps the other
 * color from running it again right after.
 */
@Component
class HeartbeatJob {

	static final String KEY = "bluegreen:jobs:heartbeat";

	private final StringRedisTemplate redis;

	private final AppIdentity identity;

	HeartbeatJob(StringRedisTemplate redis, AppIdentity identity) {
		this.redis = redis;
		this.identity = identity;
	}

	@Scheduled(fixedDelayString = "${app.jobs.heartbeat.interval}")
	@SchedulerLock(name = "heartbeat", lockAtLeastFor = "${app.jobs.heartbeat.lock-at-least-for}",
			lockAtMostFor = "PT5M")
	void beat() {
		String run = this.identity.color() + "|" + this.identity.deployId() + "|" + Instant.now();
		this.redis.opsForList().leftPush(KEY, run);
		this.redis.opsForList().trim(KEY, 0, 99);
	}

	/** The recorded runs, newest first. */
	List<String> runs() {
		return this.redis.opsForList().range(KEY, 0, -1);
	}

}
