CREATE INDEX requests_next ON requests (state, next_step)
