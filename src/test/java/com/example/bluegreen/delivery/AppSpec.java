package com.example.bluegreen.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.yaml.snakeyaml.Yaml;

/**
 * An appspec.yml for EC2/on-premises, read and validated as the CodeDeploy agent does
 * (ApplicationSpecification and ScriptInfo in aws-codedeploy-agent): version 0.0, os linux, every script
 * with a location, a timeout of 3600 s unless given and greater than 0.
 */
record AppSpec(String os, List<FileMapping> files, String fileExistsBehavior, Map<String, List<HookScript>> hooks,
		Map<String, Object> document) {

	/** The lifecycle events of an in-place deployment, in the order the agent runs them. */
	static final List<String> IN_PLACE_EVENTS = List.of("ApplicationStop", "DownloadBundle", "BeforeInstall", "Install",
			"AfterInstall", "ApplicationStart", "ValidateService");

	/** Events that run scripts (DownloadBundle and Install are the agent's own). */
	static final List<String> SCRIPT_EVENTS = List.of("ApplicationStop", "BeforeInstall", "AfterInstall",
			"ApplicationStart", "ValidateService");

	static final Set<String> FILE_EXISTS_BEHAVIORS = Set.of("DISALLOW", "OVERWRITE", "RETAIN");

	static final int DEFAULT_TIMEOUT = 3600;

	static AppSpec load(Path file) throws IOException {
		try (InputStream in = Files.newInputStream(file)) {
			Object loaded = new Yaml().load(in);
			if (!(loaded instanceof Map<?, ?> map)) {
				throw new IllegalArgumentException(file + " is not a YAML mapping");
			}
			return of(stringKeys(map));
		}
	}

	private static AppSpec of(Map<String, Object> document) {
		if (!Double.valueOf(0.0).equals(document.get("version"))) {
			throw new IllegalArgumentException("unsupported version: " + document.get("version"));
		}
		if (!"linux".equals(document.get("os"))) {
			throw new IllegalArgumentException("unsupported os: " + document.get("os"));
		}
		List<FileMapping> files = new ArrayList<>();
		for (Object entry : list(document.get("files"))) {
			Map<String, Object> mapping = stringKeys((Map<?, ?>) entry);
			files.add(new FileMapping((String) mapping.get("source"), (String) mapping.get("destination")));
		}
		Map<String, List<HookScript>> hooks = new LinkedHashMap<>();
		Object hooksSection = document.get("hooks");
		if (hooksSection != null) {
			stringKeys((Map<?, ?>) hooksSection).forEach((event, scripts) -> hooks.put(event, scripts(scripts)));
		}
		String behavior = (String) document.getOrDefault("file_exists_behavior", "DISALLOW");
		return new AppSpec((String) document.get("os"), files, behavior, hooks, document);
	}

	private static List<HookScript> scripts(Object scripts) {
		List<HookScript> result = new ArrayList<>();
		for (Object entry : list(scripts)) {
			Map<String, Object> script = stringKeys((Map<?, ?>) entry);
			Object location = script.get("location");
			if (location == null || location.toString().isBlank()) {
				throw new IllegalArgumentException("script provided without a location value");
			}
			int timeout = (script.get("timeout") != null) ? Integer.parseInt(script.get("timeout").toString().strip())
					: DEFAULT_TIMEOUT;
			if (timeout <= 0) {
				throw new IllegalArgumentException("Timeout needs to be an integer greater than 0");
			}
			Object runas = script.get("runas");
			result.add(new HookScript(location.toString().strip(), timeout, (runas != null) ? runas.toString() : null));
		}
		return result;
	}

	private static List<?> list(Object value) {
		return (value != null) ? (List<?>) value : List.of();
	}

	private static Map<String, Object> stringKeys(Map<?, ?> map) {
		Map<String, Object> result = new LinkedHashMap<>();
		map.forEach((key, value) -> result.put(String.valueOf(key), value));
		return result;
	}

	List<HookScript> hooks(String event) {
		return this.hooks.getOrDefault(event, List.of());
	}

	record FileMapping(String source, String destination) {
	}

	record HookScript(String location, int timeout, String runas) {
	}

}
