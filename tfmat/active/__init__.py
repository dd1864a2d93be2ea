"""Active-learning generative design (SPEC §11): a Gaussian-process surrogate on the formula
autoencoder's latent codes (:mod:`.surrogate`), UCB acquisition over the latent box
(:mod:`.acquisition`) and the loop that decodes, checks, labels and retrains (:mod:`.loop`)."""
