DROP TABLE ref.transaction_baskets;
