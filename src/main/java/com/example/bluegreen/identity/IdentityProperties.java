package com.example.bluegreen.identity;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Who this process is ({@code app.color}, {@code app.deploy-id}).
 *
 * @param color blue or green, set by the profile
 * @param deployId set by the deploy (APP_DEPLOY_ID), echoed by /api/version and /actuator/info
 */
@ConfigurationProperties("app")
record IdentityProperties(String color, String deployId) {
}
