package com.example.bluegreen.identity;

import java.util.Map;

import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.stereotype.Component;

/** /actuator/info shows the color and deploy id next to build and git. */
@Component
class AppIdentityInfoContributor implements InfoContributor {

	private final AppIdentity identity;

	AppIdentityInfoContributor(AppIdentity identity) {
		this.identity = identity;
	}

	@Override
	public void contribute(Info.Builder builder) {
		builder.withDetail("app", Map.of("color", this.identity.color(), "version", this.identity.version(),
				"deployId", this.identity.deployId()));
	}

}
