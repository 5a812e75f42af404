DROP TABLE ref.demo_latent_personas;
DROP TABLE ref.persona_fits;
DROP TABLE ref.persona_calibration;
