package com.example.bluegreen.socket;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The optional unix domain socket that nginx's socket-mode upstream connects to ({@code app.socket.*}).
 *
 * @param path where to serve (APP_SOCKET_PATH); blank: no socket, TCP only
 * @param permissions the socket file's mode, e.g. rw-rw---- (nginx's workers are in the socket's group)
 * @param backlog the listen backlog, which absorbs nginx's reconnect burst right after a switch
 */
@ConfigurationProperties("app.socket")
record SocketProperties(String path, String permissions, int backlog) {
}
