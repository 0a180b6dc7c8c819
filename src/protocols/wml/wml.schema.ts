import { Type } from '@sinclair/typebox';

const fields = ['CheckingStatus', 'LoanDuration', 'CreditHistory', 'LoanPurpose', 'LoanAmount', 'ExistingSavings', 'EmploymentDuration', 'InstallmentPercent', 'Sex', 'OthersOnLoan', 'CurrentResidenceDuration', 'OwnsProperty', 'Age', 'InstallmentPlans', 'Housing', 'ExistingCreditsCount', 'Job', 'Dependents', 'Telephone', 'ForeignWorker'];
const values = ['no_checking', 13, 'credits_paid_to_date', 'car_new', 1343, '100_to_500', '1_to_4', 2, 'female', 'none', 3, 'savings_insurance', 46, 'none', 'own', 2, 'skilled', 1, 'none', 'yes'];

export const WmlParams = Type.Object({ id: Type.String({ minLength: 1, description: 'Deployment id; until deployments exist, the model name', examples: ['credit-risk'] }) });
export const WmlQuery = Type.Object({ version: Type.Optional(Type.String({ description: 'API version date, e.g. 2020-09-01 (accepted for compatibility)' })) });

export const WmlBody = Type.Object(
  {
    input_data: Type.Array(
      Type.Object({
        fields: Type.Optional(Type.Array(Type.String(), { description: "Column names; the model's feature order when absent" })),
        values: Type.Array(Type.Array(Type.Unknown()), { minItems: 1 }),
      }),
      { minItems: 1 },
    ),
  },
  { examples: [{ input_data: [{ fields, values: [values] }] }] },
);

export const WmlResponse = Type.Object(
  {
    predictions: Type.Array(Type.Object({ fields: Type.Array(Type.String()), values: Type.Array(Type.Array(Type.Unknown())) })),
  },
  { examples: [{ predictions: [{ fields: ['prediction', 'probability'], values: [['No Risk', [0.9964, 0.0036]]] }] }] },
);
