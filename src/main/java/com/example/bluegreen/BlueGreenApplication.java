package com.example.bluegreen;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class BlueGreenApplication {

	public static void main(String[] args) {
		SpringApplication.run(BlueGreenApplication.class, args);
	}

}
