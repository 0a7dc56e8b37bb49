package com.example.bluegreen.identity;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.info.BuildProperties;
import org.springframework.stereotype.Component;

/**
 * Which process is answering: color, version (from build-info) and the deploy id. Every response carries
 * the first two as headers, so a deploy (and a user) can see which color served a request.
 */
@Component
public class AppIdentity {

	private final String color;

	private final String version;

	private final String deployId;

	AppIdentity(IdentityProperties properties, ObjectProvider<BuildProperties> buildProperties) {
		this.color = properties.color();
		BuildProperties build = buildProperties.getIfAvailable();
		this.version = (build != null) ? build.getVersion() : "dev";
		this.deployId = properties.deployId();
	}

	public String color() {
		return this.color;
	}

	public String version() {
		return this.version;
	}

	public String deployId() {
		return this.deployId;
	}

}
