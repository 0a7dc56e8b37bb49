package com.example.bluegreen.http;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * Limits on what a request may send ({@code app.http.*}).
 *
 * @param maxBodySize larger request bodies get 413 problem+json (APP_HTTP_MAX_BODY_SIZE)
 */
@ConfigurationProperties("app.http")
record HttpProperties(DataSize maxBodySize) {
}
