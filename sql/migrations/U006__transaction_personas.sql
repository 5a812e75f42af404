DROP TABLE ref.transaction_personas;
DROP TABLE ref.persona_weights;
